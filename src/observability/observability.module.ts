import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { IngestPressure } from './ingest-pressure';
import { createRootLogger } from './logger';
import { Metrics } from './metrics';
import { Readiness } from './readiness';

/** The process's root pino logger (logger.ts), for request logs and Nest's LoggerService. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * What every feature reports into: the Prometheus metrics registry ({@link Metrics}), the root logger, the
 * readiness flag and the ingest pressure ({@link IngestPressure}). Global so features count without importing it;
 * depends on nothing but the configuration. Request logging and the HTTP metrics are attached to the HTTP server by configureApp (http-observer.ts); the
 * routes that expose all this are in src/operations.
 */
@Global()
@Module({
  providers: [
    Metrics,
    Readiness,
    IngestPressure,
    { provide: ROOT_LOGGER, inject: [AppConfig], useFactory: (config: AppConfig) => createRootLogger(config) },
  ],
  exports: [Metrics, Readiness, IngestPressure, ROOT_LOGGER],
})
export class ObservabilityModule {}
