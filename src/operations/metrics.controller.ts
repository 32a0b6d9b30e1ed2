import { Controller, Get, Header, HttpStatus, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { Public } from '../auth/api-key.guard';
import { ApiKeysService } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../observability/metrics';
import { MetricsRepository } from './metrics.repository';

/**
 * `GET /metrics`: Prometheus text exposition (prom-client), for `Authorization: Bearer <METRICS_TOKEN>` or an
 * admin API key (header `X-API-Key` or bearer). Off (404) while METRICS_TOKEN is unset.
 * Errors: 401 without a valid token or admin key, 404 when off.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly repository: MetricsRepository,
    private readonly keys: ApiKeysService,
  ) {}

  @Public()
  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Req() req: Request): Promise<string> {
    if (!this.config.METRICS_TOKEN) throw new AppError(HttpStatus.NOT_FOUND, 'NOT_FOUND', 'Cannot GET /metrics');
    await this.authorize(req);
    await this.collect();
    req.res?.setHeader('Content-Type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }

  private async authorize(req: Request): Promise<void> {
    const auth = req.headers.authorization;
    const bearer = typeof auth === 'string' && /^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    const given = bearer ?? (typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined);
    if (given && sameSecret(given, this.config.METRICS_TOKEN!)) return;
    if (given) {
      const key = await this.keys.authenticate(given).catch(() => null);
      if (key?.scopes.includes('admin')) return;
    }
    throw new AppError(
      HttpStatus.UNAUTHORIZED,
      'UNAUTHORIZED',
      'GET /metrics needs Authorization: Bearer <METRICS_TOKEN> or an admin API key',
    );
  }

  /** Refreshes the database-side gauges; a database that does not answer leaves them as they were. */
  private async collect(): Promise<void> {
    const m = this.metrics;
    const pool = this.repository.pool();
    if (pool) for (const [state, n] of Object.entries(pool)) m.dbPool.set({ state }, n);
    try {
      const [outbox, sessions, held, deliveries, inbox] = await Promise.all([
        this.repository.outbox(),
        this.repository.sessionsByStatus(),
        this.repository.heldLeases(`${hostname().slice(0, 40)}:${process.pid}:`),
        this.repository.deliveries(),
        this.repository.ingestInbox(),
      ]);
      m.ingestPending.set(inbox.pending);
      m.ingestOldest.set(inbox.oldest);
      m.outboxDepth.reset();
      m.outboxOldest.reset();
      for (const o of outbox) {
        m.outboxDepth.set({ session: o.session }, o.depth);
        m.outboxOldest.set({ session: o.session }, o.oldest);
      }
      m.sessions.reset();
      for (const s of sessions) m.sessions.set({ provider: s.provider, status: s.status }, s.n);
      m.heldSessions.set(held);
      m.webhookDeliveryPending.set(deliveries.pending);
      m.webhookDeliveryFailed.set(deliveries.failed);
      m.webhookEventsUnfanned.set(deliveries.unfanned);
      m.webhookDeliveryLag.set(deliveries.lag);
    } catch {
      /* the database is down: /health/ready says so; the process metrics are still worth scraping */
    }
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
