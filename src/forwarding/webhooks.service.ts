import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppError } from '../common/app-error';
import { UUID_RE } from '../common/sql-text';
import { ForwardingConfig } from './forwarding.config';
import { type AttemptRow, type DeliveryRow, ForwardingRepository, type SubscriptionRow } from './forwarding.repository';
import { checkTargetAddresses, checkUrlForm, TargetRefusedError } from './target-guard';
import type {
  CreateWebhookDto,
  WebhookDeliveryDto,
  ReplayWebhookDto,
  UpdateWebhookDto,
  WebhookResponseDto,
  WebhookWithSecretDto,
} from './webhook.dto';

/** Hours the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_HOURS = 24;
/** Most events one replay queues. */
const REPLAY_MAX = 10_000;
/** Header names a subscription may not set: framing, and the ones wa-hub signs with. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-hub-signature-256',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

/** A new `whsec_` secret: base64 of 32 random bytes. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function toDto(r: SubscriptionRow): WebhookResponseDto {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    sessionIds: r.session_ids,
    headers: r.headers,
    format: r.format,
    description: r.description,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    failingSince: iso(r.failing_since),
    previousSecretUntil: r.previous_secret_until && new Date(r.previous_secret_until) > new Date() ? iso(r.previous_secret_until) : null,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

function toDeliveryDto(d: DeliveryRow, attempts: AttemptRow[]): WebhookDeliveryDto {
  return {
    id: d.id,
    webhookId: `wd_${d.id}`,
    subscriptionId: d.subscription_id,
    eventId: d.event_id,
    eventType: d.event_type,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: iso(d.next_attempt_at)!,
    lastStatus: d.last_status,
    lastError: d.last_error,
    createdAt: iso(d.created_at)!,
    deliveredAt: iso(d.delivered_at),
    attemptLog: attempts.map((a) => ({
      at: iso(a.at)!,
      status: a.status,
      latencyMs: a.latency_ms,
      responseExcerpt: a.response_excerpt,
      error: a.error,
    })),
  };
}

/**
 * Webhook subscriptions (outgoing webhooks): CRUD, secret rotation, test deliveries, delivery history, retries and
 * replays. Errors are {@link AppError}s: 400 for a refused target or bad input, 404 for unknown ids.
 */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly repo: ForwardingRepository,
    private readonly config: ForwardingConfig,
  ) {}

  /** Creates a subscription. @returns it with its secret (the only time it is shown). @throws 400 refused target/headers. */
  async create(dto: CreateWebhookDto): Promise<WebhookWithSecretDto> {
    await this.checkTarget(dto.url);
    const secret = newSecret();
    const row = await this.repo.createSubscription({
      url: dto.url,
      events: dto.events?.length ? dto.events : null,
      sessionIds: dto.sessionIds?.length ? dto.sessionIds : null,
      headers: checkHeaders(dto.headers ?? {}),
      format: dto.format ?? 'standard',
      description: dto.description ?? null,
      secret,
    });
    return { ...toDto(row), secret };
  }

  /** Every subscription, newest first (no secrets). */
  async list(): Promise<WebhookResponseDto[]> {
    return (await this.repo.listSubscriptions()).map(toDto);
  }

  /** One subscription. @throws 404. */
  async get(id: string): Promise<WebhookResponseDto> {
    return toDto(await this.row(id));
  }

  /** Changes a subscription; enabling clears the disabled reason. @throws 404, 400 refused target/headers. */
  async update(id: string, dto: UpdateWebhookDto): Promise<WebhookResponseDto> {
    await this.row(id);
    if (dto.url !== undefined) await this.checkTarget(dto.url);
    const row = await this.repo.updateSubscription(id, {
      url: dto.url,
      events: dto.events === undefined ? undefined : dto.events?.length ? dto.events : null,
      session_ids: dto.sessionIds === undefined ? undefined : dto.sessionIds?.length ? dto.sessionIds : null,
      headers: dto.headers === undefined ? undefined : checkHeaders(dto.headers),
      description: dto.description,
      enabled: dto.enabled,
    });
    if (!row) throw AppError.notFound('Webhook');
    return toDto(row);
  }

  /** Deletes a subscription with its deliveries. @throws 404. */
  async delete(id: string): Promise<WebhookResponseDto> {
    const row = UUID_RE.test(id) ? await this.repo.deleteSubscription(id) : null;
    if (!row) throw AppError.notFound('Webhook');
    return toDto(row);
  }

  /** New secret (returned once); the old one keeps signing for {@link ROTATION_OVERLAP_HOURS} h. @throws 404. */
  async rotate(id: string): Promise<WebhookWithSecretDto> {
    await this.row(id);
    const secret = newSecret();
    const row = await this.repo.rotateSecret(id, secret, ROTATION_OVERLAP_HOURS);
    if (!row) throw AppError.notFound('Webhook');
    return { ...toDto(row), secret };
  }

  /** Queues a `webhook.test` delivery, due now. @throws 404. */
  async test(id: string): Promise<WebhookDeliveryDto> {
    const sub = await this.row(id);
    const at = new Date().toISOString();
    const d = await this.repo.enqueuePayload(sub.id, 'webhook.test', {
      id: null,
      type: 'webhook.test',
      occurredAt: at,
      sessionId: null,
      data: { subscriptionId: sub.id, message: 'wa-hub test delivery' },
    });
    return toDeliveryDto(d, []);
  }

  /** A subscription's latest 100 deliveries (optionally of one state), newest first, with their attempts. @throws 404. */
  async deliveries(id: string, state: string | undefined): Promise<WebhookDeliveryDto[]> {
    await this.row(id);
    const rows = await this.repo.listDeliveries(id, state, 100);
    const attempts = await this.repo.attemptsOf(rows.map((r) => r.id));
    return rows.map((r) =>
      toDeliveryDto(
        r,
        attempts.filter((a) => a.delivery_id === r.id),
      ),
    );
  }

  /** Sends a delivery again now (pending, attempts and retry window restarted). @throws 404. */
  async retry(deliveryId: string): Promise<WebhookDeliveryDto> {
    const row = /^\d{1,18}$/.test(deliveryId) ? await this.repo.retryDelivery(deliveryId) : null;
    if (!row) throw AppError.notFound('Webhook delivery');
    return toDeliveryDto(row, await this.repo.attemptsOf([row.id]));
  }

  /** Queues the log's events in [from, to) again for this subscription (at most 10,000). @throws 404, 400 from ≥ to. */
  async replay(id: string, dto: ReplayWebhookDto): Promise<number> {
    await this.row(id);
    const from = new Date(dto.from);
    const to = new Date(dto.to);
    if (!(from < to)) throw AppError.badRequest('from must be before to');
    return this.repo.replay(id, from, to, dto.types?.length ? dto.types : null, REPLAY_MAX);
  }

  private async row(id: string): Promise<SubscriptionRow> {
    const row = UUID_RE.test(id) ? await this.repo.getSubscription(id) : null;
    if (!row) throw AppError.notFound('Webhook');
    return row;
  }

  /** @throws 400 when the target's form or (unless WEBHOOK_ALLOW_PRIVATE) its addresses are refused. */
  private async checkTarget(raw: string): Promise<void> {
    try {
      const url = checkUrlForm(raw, this.config.allowHttp);
      if (!this.config.allowPrivate) await checkTargetAddresses(url);
    } catch (e) {
      if (e instanceof TargetRefusedError) throw AppError.badRequest(e.message, [{ field: 'url', errors: [e.message] }]);
      throw e;
    }
  }
}

/** @returns the headers when every name is a valid, unreserved header name and every value a string. @throws 400. */
function checkHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = Object.entries(headers);
  if (entries.length > 50) throw AppError.badRequest('headers: at most 50');
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase()))
      throw AppError.badRequest(`headers: ${name.slice(0, 100)} is not allowed`);
    if (typeof value !== 'string' || value.length > 4096 || /[\r\n\0]/.test(value))
      throw AppError.badRequest(`headers: ${name} must be a single-line string of at most 4096 characters`);
    out[name] = value;
  }
  return out;
}
