import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/api-key.guard';
import { MetricsRepository } from './metrics.repository';
import { Readiness } from '../observability/readiness';
import { AppConfig } from '../config/app-config';

/** Kubernetes-style probes beside `/health` (which stays as it was for terminus clients). No key needed. */
@ApiTags('health')
@Public()
@Controller('health')
export class ProbesController {
  constructor(
    private readonly readiness: Readiness,
    private readonly repository: MetricsRepository,
    private readonly config: AppConfig,
  ) {}

  /** 200 `{ status: "ok" }` while the process runs and its event loop answers; it checks nothing else. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiResponse({ status: 200, schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * 200 `{ status: "ok", checks: { database: "up", migrations: "applied", ingest: "ok", ingestLagSeconds: 0,
   * shuttingDown: false } }` when this process should get traffic; 503 with the failing check otherwise: database
   * down (3 s timeout), migrations pending, ingest `lagging` (the oldest acknowledged webhook not applied yet is
   * older than INGEST_READY_MAX_LAG_SECONDS; `ingestLagSeconds` is its age), or shutting down (SIGTERM received).
   */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: database up, migrations applied, ingest not lagging, not shutting down' })
  @ApiResponse({
    status: 200,
    schema: {
      example: { status: 'ok', checks: { database: 'up', migrations: 'applied', ingest: 'ok', ingestLagSeconds: 0, shuttingDown: false } },
    },
  })
  @ApiResponse({
    status: 503,
    schema: {
      example: {
        status: 'unavailable',
        checks: { database: 'down', migrations: 'unknown', ingest: 'unknown', ingestLagSeconds: null, shuttingDown: false },
      },
    },
  })
  async ready(@Res({ passthrough: true }) res: Response): Promise<object> {
    const checks = {
      database: 'up' as 'up' | 'down',
      migrations: 'unknown' as 'applied' | 'pending' | 'unknown',
      ingest: 'unknown' as 'ok' | 'lagging' | 'unknown',
      ingestLagSeconds: null as number | null,
      shuttingDown: this.readiness.shuttingDown,
    };
    try {
      await withTimeout(this.repository.ping(), 3000);
      checks.migrations = (await withTimeout(this.repository.migrationsApplied(), 3000)) ? 'applied' : 'pending';
    } catch {
      checks.database = 'down';
    }
    if (checks.migrations === 'applied') {
      const lag = await withTimeout(this.repository.ingestInbox(), 3000).catch(() => null);
      if (lag) {
        checks.ingestLagSeconds = Math.round(lag.oldest * 1000) / 1000;
        checks.ingest = lag.oldest > this.config.INGEST_READY_MAX_LAG_SECONDS ? 'lagging' : 'ok';
      }
    }
    const ok = checks.database === 'up' && checks.migrations === 'applied' && checks.ingest === 'ok' && !checks.shuttingDown;
    res.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    if (!ok) res.setHeader('Retry-After', '5');
    return { status: ok ? 'ok' : 'unavailable', checks };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]);
}
