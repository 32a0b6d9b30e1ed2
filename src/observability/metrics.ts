import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * wa-hub's Prometheus metrics (prom-client), one registry per app: what the features count and time, plus the
 * gauges read from the database at scrape time (see MetricsCollector). Every metric is listed in the README's
 * "Metrics" section. Durations in seconds, sizes in webhooks per batch.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  /** HTTP requests by method, route pattern (not the raw URL: bounded cardinality) and status code. */
  readonly httpRequests = new Counter({
    name: 'wahub_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'wahub_http_request_duration_seconds',
    help: 'HTTP request latency from the first byte received to the last byte sent, in seconds',
    labelNames: ['method', 'route'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** Provider webhooks: processed / ignored / failed (stored, not understood) / rejected (credentials) / error (503). */
  readonly webhooks = new Counter({
    name: 'wahub_webhooks_total',
    help: 'Provider webhooks by provider and outcome (processed, ignored, failed, duplicate, rejected, error)',
    labelNames: ['provider', 'state'] as const,
    registers: [this.registry],
  });
  readonly ingestBatchSize = new Histogram({
    name: 'wahub_ingest_batch_size',
    help: "Acknowledged webhooks applied per ingest transaction (the applier's batches)",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  readonly ingestBatchDuration = new Histogram({
    name: 'wahub_ingest_batch_duration_seconds',
    help: 'Time one apply transaction of the ingest applier took, in seconds',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Acknowledged (2xx) → applied, i.e. visible in /v1/messages, per webhook (issue 16's inbox). */
  readonly ingestLag = new Histogram({
    name: 'wahub_ingest_lag_seconds',
    help: 'Time from a webhook acknowledged (inbox committed) to its events applied (visible in /v1/messages), in seconds',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** Acknowledged webhooks not applied yet, and the age of the oldest (read from the inbox at scrape time). */
  readonly ingestPending = new Gauge({
    name: 'wahub_ingest_inbox_pending',
    help: 'Acknowledged webhooks waiting in the inbox to be applied',
    registers: [this.registry],
  });
  readonly ingestOldest = new Gauge({
    name: 'wahub_ingest_inbox_oldest_seconds',
    help: 'Age of the oldest acknowledged webhook not applied yet, in seconds (0 when none)',
    registers: [this.registry],
  });
  /** Webhook answers held for their own apply by backpressure (INGEST_APPLY_BACKLOG_MAX), by provider. */
  readonly ingestBackpressure = new Counter({
    name: 'wahub_ingest_backpressure_total',
    help: 'Webhook answers that waited for their own apply because the applier backlog was past INGEST_APPLY_BACKLOG_MAX, by provider',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly dedupeHits = new Counter({
    name: 'wahub_ingest_duplicates_total',
    help: 'Webhooks whose exact bytes had been stored before (provider retries), by provider',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly sends = new Counter({
    name: 'wahub_sends_total',
    help: 'Outbound provider calls by provider and outcome (sent, retry, failed, unknown)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly outboxDepth = new Gauge({
    name: 'wahub_outbox_depth',
    help: 'Outbound messages queued (not yet handed to the provider), by session',
    labelNames: ['session'] as const,
    registers: [this.registry],
  });
  readonly outboxOldest = new Gauge({
    name: 'wahub_outbox_oldest_age_seconds',
    help: 'Age of the oldest queued outbound message, by session, in seconds',
    labelNames: ['session'] as const,
    registers: [this.registry],
  });
  readonly sessions = new Gauge({
    name: 'wahub_sessions',
    help: 'Sessions by provider and status',
    labelNames: ['provider', 'status'] as const,
    registers: [this.registry],
  });
  readonly heldSessions = new Gauge({
    name: 'wahub_baileys_sessions_held',
    help: 'Baileys sessions whose lease this process holds',
    registers: [this.registry],
  });
  readonly webhookDeliveryPending = new Gauge({
    name: 'wahub_webhook_deliveries_pending',
    help: 'Outgoing webhook deliveries not yet delivered',
    registers: [this.registry],
  });
  readonly webhookDeliveryLag = new Gauge({
    name: 'wahub_webhook_delivery_lag_seconds',
    help: 'Age of the oldest pending outgoing webhook delivery or event not yet fanned out, in seconds',
    registers: [this.registry],
  });
  readonly webhookEventsUnfanned = new Gauge({
    name: 'wahub_webhook_events_unfanned',
    help: 'Events of the log not yet fanned out into outgoing webhook deliveries (approximate: id distance)',
    registers: [this.registry],
  });
  readonly webhookDeliveryCap = new Gauge({
    name: 'wahub_webhook_in_flight_cap',
    help: 'Outgoing webhook calls this process may have in flight now (lower while deliveries give way to the ingest)',
    registers: [this.registry],
  });
  readonly webhookDeliveryFailed = new Gauge({
    name: 'wahub_webhook_deliveries_failed',
    help: 'Outgoing webhook deliveries that gave up (dead letters)',
    registers: [this.registry],
  });
  readonly eventSubscribers = new Gauge({
    name: 'wahub_event_subscribers',
    help: 'Live event subscribers (SSE and Socket.IO) connected to this process',
    registers: [this.registry],
  });
  readonly eventStreamsDropped = new Counter({
    name: 'wahub_event_streams_dropped_total',
    help: 'Live event streams disconnected because their client read too slowly (EVENT_STREAM_MAX_BUFFER_BYTES waiting)',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly dbPool = new Gauge({
    name: 'wahub_db_pool_connections',
    help: 'PostgreSQL pool connections by state (total, idle, waiting clients)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Process metrics, event-loop lag (nodejs_eventloop_lag_seconds) and GC.
    collectDefaultMetrics({ register: this.registry, prefix: 'wahub_' });
  }
}
