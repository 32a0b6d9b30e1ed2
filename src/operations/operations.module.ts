import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsRepository } from './metrics.repository';
import { ProbesController } from './probes.controller';

/**
 * Operations routes: Prometheus metrics (`GET /metrics`, prom-client text) and the probes (`/health/live`,
 * `/health/ready`). The counters themselves live in the global ObservabilityModule.
 */
@Module({
  providers: [MetricsRepository],
  controllers: [MetricsController, ProbesController],
})
export class OperationsModule {}
