import { Injectable } from '@nestjs/common';
import type { MetaCredentials } from './meta.credentials';
import { AppConfig } from '../../config/app-config';
import {
  OutboundFile,
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
 * Uploaded files (POST /v1/media) go through Meta's media upload endpoint first ({@link MetaSender.sendFile}).
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

  /**
   * Sends an uploaded file (POST /v1/media): first `POST /{version}/{phone_number_id}/media` (multipart: `file` with
   * its type, `type`, `messaging_product=whatsapp`) → `{id}`, then the message by that id. Meta keeps uploaded media
   * 30 days; each send uploads again, so nothing depends on that.
   * Source: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#upload-media
   * @throws SendError as {@link send} (upload errors are classified like message errors).
   */
  async sendFile(session: SenderSession, r: OutboundRequest, file: OutboundFile): Promise<{ externalId: string }> {
    const { token, base } = this.endpoint(session);
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', file.mimeType);
    form.set('file', new Blob([new Uint8Array(file.bytes)], { type: file.mimeType }), file.filename ?? `${r.type}`);
    let res: Response;
    try {
      res = await fetch(`${base}/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
        signal: AbortSignal.timeout(this.config.SEND_TIMEOUT_MS),
      });
    } catch (e) {
      const err = e as Error;
      if (err.name === 'TimeoutError' || err.name === 'AbortError')
        throw new SendError('temporary', 'TIMEOUT', `No answer from Meta's media upload within ${this.config.SEND_TIMEOUT_MS} ms`);
      throw new SendError('temporary', 'NETWORK', `Provider unreachable: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    }
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: classified by status */
    }
    if (res.status < 200 || res.status >= 300) throw this.error({ status: res.status, json });
    const id = json?.id;
    if (typeof id !== 'string' || id === '')
      throw new SendError('temporary', 'BAD_RESPONSE', `Meta's media upload answered ${res.status} without an id`, text.slice(0, 500));
    return this.send(session, { ...r, media: { ...r.media, id, link: undefined } });
  }

  /** `{messaging_product, status: "read", message_id}` (fixture meta/outbound/requests/mark_read.json). */
  async markRead(session: SenderSession, r: ReadReceiptRequest): Promise<void> {
    await this.post(session, { messaging_product: 'whatsapp', status: 'read', message_id: r.messageExternalId });
  }

  /** The session's token and `{graph}/{version}/{phone_number_id}`. @throws SendError `auth` without a token. */
  private endpoint(session: SenderSession): { token: string; base: string } {
    const c: MetaCredentials = session.credentials;
    const token = c.accessToken ?? this.config.META_ACCESS_TOKEN;
    if (!token) throw new SendError('auth', 'NO_CREDENTIALS', 'No Meta access token: set META_ACCESS_TOKEN or the session credentials');
    const base = `${c.graphBaseUrl ?? this.config.META_GRAPH_BASE_URL}/${c.apiVersion ?? this.config.META_API_VERSION}/${encodeURIComponent(session.externalId)}`;
    return { token, base };
  }

  private async post(session: SenderSession, body: unknown) {
    const { token, base } = this.endpoint(session);
    const res = await postJson(`${base}/messages`, { authorization: `Bearer ${token}` }, body, this.config.SEND_TIMEOUT_MS);
    if (res.status >= 200 && res.status < 300) return res;
    throw this.error(res);
  }

  /** Classifies a refused call by Meta's error code, else by HTTP status (see the class comment). */
  private error(res: { status: number; json: any }): SendError {
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
    return new SendError(kind, String(code ?? res.status), message, detail);
  }
}
