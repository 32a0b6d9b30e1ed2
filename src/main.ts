import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { AppModule } from './app.module';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { loadDotEnv } from './config/dotenv';
import { APP_OPTIONS, configureApp } from './configure-app';
import { PinoNestLogger } from './observability/logger';
import { ROOT_LOGGER } from './observability/observability.module';
import { installGracefulShutdown } from './operations/graceful-shutdown';

async function bootstrap(): Promise<void> {
  const warnings = loadDotEnv();
  try {
    loadConfig(); // fail fast with the variable names before anything else starts
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { ...APP_OPTIONS, bufferLogs: true });
  app.useLogger(new PinoNestLogger(app.get(ROOT_LOGGER)));
  const log = new Logger('wa-hub');
  for (const w of warnings) log.warn(w);
  await configureApp(app);
  const config = app.get(AppConfig);
  installGracefulShutdown(app, app.getHttpServer() as Server, config.SHUTDOWN_TIMEOUT_MS, log);
  await app.listen(config.PORT, config.HOST);
  log.log(
    `listening on ${config.HOST}:${config.PORT} (${config.DATABASE_URL ? 'PostgreSQL' : `embedded PGlite in ${config.DATA_DIR}`}); docs at /docs`,
  );
}

void bootstrap();
