import { Injectable } from '@nestjs/common';
import type { WablasCredentials } from './wablas.credentials';
import { AppConfig } from '../../config/app-config';
import {
  httpErrorKind,
  MessageSender,
  OutboundRequest,
  OutboundType,
  postJson,
  SenderSession,
  SendError,
} from '../../domain/message-sender';

/**
 * Wablas: `POST {base}/api/v2/send-message` with `Authorization: <token>` or `<token>.<secret key>` and
 * `{data: [{phone, message, isGroup?}]}` (fixtures wablas/outbound/v2_send_message.json, auth_header_token_secret.json);
 * the answer's `data.messages[0].id` is the id later tracking callbacks carry.
 * Media by link through the v2 calls of the same shape, `{data: [{phone, <kind>: url, caption?}]}` to
 * `/api/v2/send-image` (`image`), `send-video` (`video`), `send-audio` (`audio`), `send-document` (`document`):
 * no fixture covers them, the shape is the one Wablas' documentation examples and public client libraries use;
 * the answer has the send-message shape. Location, reaction and templates are refused before queueing.
 * Errors: `{status: false, message}`; "token invalid or device expired" is an auth failure (fixture
 * wablas/outbound/responses/error_token_invalid.json), 5xx/429 temporary, other refusals permanent.
 */
@Injectable()
export class WablasSender implements MessageSender {
  readonly provider = 'wablas';
  readonly capabilities: ReadonlySet<OutboundType> = new Set<OutboundType>(['text', 'image', 'video', 'audio', 'document']);
  readonly mediaById = false;
  readonly readReceipts = false;

  constructor(private readonly config: AppConfig) {}

  async send(session: SenderSession, r: OutboundRequest): Promise<{ externalId: string | null }> {
    const c: WablasCredentials = session.credentials;
    const base = c.baseUrl ?? this.config.WABLAS_BASE_URL;
    const token = c.token ?? this.config.WABLAS_TOKEN;
    const secret = c.secretKey ?? this.config.WABLAS_SECRET_KEY;
    if (!base || !token)
      throw new SendError(
        'auth',
        'NO_CREDENTIALS',
        'No Wablas base URL or token: set WABLAS_BASE_URL/WABLAS_TOKEN or the session credentials',
      );
    const item: Record<string, unknown> = { phone: r.isGroup ? r.to.replace(/@g\.us$/, '') : r.to };
    let call = 'send-message';
    if (r.type === 'text') item.message = r.text!.body;
    else {
      if (!r.media?.link) throw new SendError('permanent', 'MEDIA_LINK_REQUIRED', 'Wablas sends media by URL only');
      call = `send-${r.type}`;
      item[r.type] = r.media.link;
      if (r.media.caption && r.type !== 'audio') item.caption = r.media.caption;
    }
    // Wablas sends the group flag as the string "true" (fixture wablas/outbound/v2_send_message.json).
    if (r.isGroup) item.isGroup = 'true';
    const res = await postJson(
      `${base}/api/v2/${call}`,
      { authorization: secret ? `${token}.${secret}` : token },
      { data: [item] },
      this.config.SEND_TIMEOUT_MS,
    );
    const message = typeof res.json?.message === 'string' ? res.json.message : `HTTP ${res.status}`;
    if (res.status >= 200 && res.status < 300 && res.json?.status === true) {
      const id = res.json?.data?.messages?.[0]?.id;
      if (typeof id !== 'string' || id === '')
        throw new SendError('temporary', 'BAD_RESPONSE', 'Wablas accepted the message without an id', res.text.slice(0, 500));
      return { externalId: id };
    }
    if (/token invalid|device expired|unauthori[sz]ed/i.test(message) || res.status === 401 || res.status === 403)
      throw new SendError('auth', String(res.status), message);
    throw new SendError(res.status >= 200 && res.status < 300 ? 'permanent' : httpErrorKind(res.status), String(res.status), message);
  }
}
