import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import type { ListWebhookEventsQueryDto, WebhookEventPageDto, WebhookEventResponseDto } from './webhook-event.dto';
import { type WebhookEventRow, WebhookEventsRepository } from './webhook-events.repository';

/** A stored webhook as GET /v1/webhook-events/:id returns it: with the exact request bytes. */
export type WebhookEventDetail = WebhookEventResponseDto & {
  /** The exact request bytes, base64; null for events stored before they were kept. */
  rawBody: string | null;
};

/** Reads of the raw webhook log (what each provider sent, whether it normalised). */
@Injectable()
export class WebhookEventsService {
  constructor(private readonly repo: WebhookEventsRepository) {}

  /**
   * Stored webhooks newest first, filtered by `state` and `provider`; without the raw bytes.
   * @throws AppError 400 for a cursor that is not ours.
   */
  async list(q: ListWebhookEventsQueryDto): Promise<WebhookEventPageDto> {
    const page = await this.repo.page({ state: q.state, provider: q.provider }, q);
    return { ...page, data: page.data.map(toDto) };
  }

  /**
   * One stored webhook with its exact bytes (`rawBody`, base64).
   * @throws AppError 404 when the id is not a webhook event id or there is none.
   */
  async get(id: string): Promise<WebhookEventDetail> {
    if (!/^\d{1,18}$/.test(id)) throw AppError.notFound('Webhook event');
    const row = await this.repo.find(id);
    if (!row) throw AppError.notFound('Webhook event');
    return { ...toDto(row), rawBody: row.raw_body ? Buffer.from(row.raw_body).toString('base64') : null };
  }
}

function toDto(r: WebhookEventRow): WebhookEventResponseDto {
  return {
    id: String(r.id),
    provider: r.provider,
    receivedAt: new Date(r.received_at).toISOString(),
    contentType: r.content_type ?? null,
    state: r.state,
    error: r.error ?? null,
    eventCount: Number(r.event_count),
    attempts: Number(r.attempts),
    body: r.body,
  };
}
