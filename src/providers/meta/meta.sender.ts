import { Injectable } from '@nestjs/common';
import type { MetaCredentials } from './meta.credentials';
import { AppConfig } from '../../config/app-config';
import {
  httpErrorKind,
  MessageSender,
  OutboundRequest,
  OutboundType,
  postJson,
  ReadReceiptRequest,
  SenderSession,
  SendError,
} from '../../domain/message-sender';

/**
 * Meta error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes; fixtures
 * meta/outbound/responses/error_*.json) that clear up by themselves: throughput (130429), pair rate (131056),
 * app rate (4), spam rate (80007), generic and service unavailable (1, 2, 131000, 131016), server temporarily
 * unavailable (133004). */
const TEMPORARY_CODES = new Set([1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004]);
/** Expired or invalid access token (fixtures error_190_expired_token.json, error_190_invalid_token_spec.json). */
const AUTH_CODES = new Set([190]);

/**
 * Meta WhatsApp Cloud API: `POST {META_GRAPH_BASE_URL}/{META_API_VERSION}/{phone_number_id}/messages` with
 * `Authorization: Bearer <token>`; bodies as in fixtures meta/outbound/requests (Meta's Postman collection).
 * Source: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 * Errors: `{error: {code, message, error_data.details}}`; codes classified by TEMPORARY_CODES / AUTH_CODES,
 * else by HTTP status (see {@link httpErrorKind}).
 */
@Injectable()
export class MetaSender implements MessageSender {
  readonly provider = 'meta';
  readonly capabilities: ReadonlySet<OutboundType> = new Set<OutboundType>([
    'text',
    'image',
    'video',
    'audio',
    'document',
    'location',
    'reaction',
    'template',
  ]);
  readonly mediaById = true;
  readonly readReceipts = true;

  constructor(private readonly config: AppConfig) {}

  async send(session: SenderSession, r: OutboundRequest): Promise<{ externalId: string }> {
    const body: Record<string, unknown> = {
      messaging_product: 'whatsapp',
      recipient_type: r.isGroup ? 'group' : 'individual',
      to: r.to,
      type: r.type,
    };
    if (r.replyToExternalId) body.context = { message_id: r.replyToExternalId };
    switch (r.type) {
      case 'text':
        body.text = { body: r.text!.body, preview_url: r.text!.previewUrl ?? false };
        break;
      case 'image':
      case 'video':
      case 'audio':
      case 'document': {
        const m = r.media!;
        body[r.type] = {
          ...(m.id ? { id: m.id } : { link: m.link }),
          ...(m.caption && r.type !== 'audio' ? { caption: m.caption } : {}),
          ...(m.filename && r.type === 'document' ? { filename: m.filename } : {}),
        };
        break;
      }
      case 'location':
        body.location = r.location;
        break;
      case 'reaction':
        body.reaction = { message_id: r.reaction!.messageExternalId, emoji: r.reaction!.emoji };
        break;
      case 'template':
        body.template = {
          name: r.template!.name,
          language: { code: r.template!.language },
          ...(r.template!.components ? { components: r.template!.components } : {}),
        };
        break;
    }
    const res = await this.post(session, body);
    const id = res.json?.messages?.[0]?.id;
    if (typeof id !== 'string' || id === '')
      throw new SendError('temporary', 'BAD_RESPONSE', `Meta answered ${res.status} without a message id`, res.text.slice(0, 500));
    return { externalId: id };
  }

  /** `{messaging_product, status: "read", message_id}` (fixture meta/outbound/requests/mark_read.json). */
  async markRead(session: SenderSession, r: ReadReceiptRequest): Promise<void> {
    await this.post(session, { messaging_product: 'whatsapp', status: 'read', message_id: r.messageExternalId });
  }

  private async post(session: SenderSession, body: unknown) {
    const c: MetaCredentials = session.credentials;
    const token = c.accessToken ?? this.config.META_ACCESS_TOKEN;
    if (!token) throw new SendError('auth', 'NO_CREDENTIALS', 'No Meta access token: set META_ACCESS_TOKEN or the session credentials');
    const url = `${c.graphBaseUrl ?? this.config.META_GRAPH_BASE_URL}/${c.apiVersion ?? this.config.META_API_VERSION}/${encodeURIComponent(session.externalId)}/messages`;
    const res = await postJson(url, { authorization: `Bearer ${token}` }, body, this.config.SEND_TIMEOUT_MS);
    if (res.status >= 200 && res.status < 300) return res;
    const err = res.json?.error;
    const code = typeof err?.code === 'number' ? err.code : undefined;
    const message = typeof err?.message === 'string' ? err.message : `HTTP ${res.status}`;
    const detail = typeof err?.error_data?.details === 'string' ? err.error_data.details : undefined;
    const kind =
      code !== undefined && AUTH_CODES.has(code)
        ? 'auth'
        : code !== undefined && TEMPORARY_CODES.has(code)
          ? 'temporary'
          : httpErrorKind(res.status);
    throw new SendError(kind, String(code ?? res.status), message, detail);
  }
}
