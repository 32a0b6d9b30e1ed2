import { Injectable } from '@nestjs/common';
import type { WwebjsCredentials } from './wwebjs.credentials';
import { AppConfig } from '../../config/app-config';
import {
  OutboundFile,
  httpErrorKind,
  MessageSender,
  OutboundRequest,
  OutboundType,
  postJson,
  SenderSession,
  SendError,
} from '../../domain/message-sender';

/**
 * whatsapp-web.js API server (chrishubert/whatsapp-api): `POST {base}/client/sendMessage/{sessionId}` with
 * `x-api-key` and `{chatId, contentType, content, options?}` (fixtures wwebjs/api/requests/send_message_*.json):
 * `string` for text, `MessageMediaFromURL` for media by link, `MessageMedia` (base64) for uploaded files, `Location`. Caption and reply go in `options`
 * (`caption`, `quotedMessageId`: whatsapp-web.js MessageSendOptions). The answer's `message.id._serialized` is the
 * id the server's webhooks (message_create, message_ack) carry.
 * Reactions: `POST {base}/message/react/{sessionId}` with `{chatId, messageId, reaction}` (chrishubert/whatsapp-api
 * messageController.react: `Message.react(reaction)`, an empty string removes it); the answer `{success, result}`
 * has no message id, so the reaction is recorded `sent` without one.
 * Errors (fixtures wwebjs/api/responses): 403 `Invalid API key` → auth; 404 `session_not_connected` → temporary
 * (the session may come back); 5xx temporary; other 4xx permanent.
 */
@Injectable()
export class WwebjsSender implements MessageSender {
  readonly provider = 'wwebjs';
  readonly capabilities: ReadonlySet<OutboundType> = new Set<OutboundType>([
    'text',
    'image',
    'video',
    'audio',
    'document',
    'location',
    'reaction',
  ]);
  readonly mediaById = false;
  readonly readReceipts = false;

  constructor(private readonly config: AppConfig) {}

  /**
   * Sends an uploaded file (POST /v1/media) as `MessageMedia` `{mimetype, data: base64, filename}` (fixture
   * wwebjs/api/requests/send_message_MessageMedia.json); documents go with `sendMediaAsDocument`.
   * @throws SendError as {@link send}.
   */
  sendFile(session: SenderSession, r: OutboundRequest, file: OutboundFile): Promise<{ externalId: string | null }> {
    return this.send(session, r, {
      mimetype: file.mimeType,
      data: file.bytes.toString('base64'),
      ...(file.filename ? { filename: file.filename } : {}),
    });
  }

  async send(
    session: SenderSession,
    r: OutboundRequest,
    bytes?: { mimetype: string; data: string; filename?: string },
  ): Promise<{ externalId: string | null }> {
    const c: WwebjsCredentials = session.credentials;
    const base = c.baseUrl ?? this.config.WWEBJS_BASE_URL;
    const apiKey = c.apiKey ?? this.config.WWEBJS_API_KEY;
    if (!base) throw new SendError('auth', 'NO_CREDENTIALS', 'No wwebjs server: set WWEBJS_BASE_URL or the session credentials');
    const chatId = r.isGroup ? r.to : `${r.to}@c.us`;
    const headers: Record<string, string> = apiKey ? { 'x-api-key': apiKey } : {};
    if (r.type === 'reaction') {
      const res = await postJson(
        `${base}/message/react/${encodeURIComponent(session.externalId)}`,
        headers,
        { chatId, messageId: r.reaction!.messageExternalId, reaction: r.reaction!.emoji },
        this.config.SEND_TIMEOUT_MS,
      );
      if (res.status >= 200 && res.status < 300 && res.json?.success !== false) return { externalId: null };
      throw this.error(res);
    }
    const options: Record<string, unknown> = {};
    if (r.replyToExternalId) options.quotedMessageId = r.replyToExternalId;
    let body: Record<string, unknown>;
    if (r.type === 'text') body = { chatId, contentType: 'string', content: r.text!.body };
    else if (r.type === 'location')
      body = {
        chatId,
        contentType: 'Location',
        content: {
          latitude: r.location!.latitude,
          longitude: r.location!.longitude,
          ...(r.location!.name || r.location!.address ? { description: r.location!.name ?? r.location!.address } : {}),
        },
      };
    else if (bytes) {
      if (r.media?.caption) options.caption = r.media.caption;
      if (r.type === 'document') options.sendMediaAsDocument = true;
      body = { chatId, contentType: 'MessageMedia', content: bytes };
    } else {
      if (!r.media?.link) throw new SendError('permanent', 'MEDIA_LINK_REQUIRED', 'wwebjs sends media by URL only');
      if (r.media.caption) options.caption = r.media.caption;
      body = { chatId, contentType: 'MessageMediaFromURL', content: r.media.link };
    }
    if (Object.keys(options).length) body.options = options;
    const res = await postJson(
      `${base}/client/sendMessage/${encodeURIComponent(session.externalId)}`,
      headers,
      body,
      this.config.SEND_TIMEOUT_MS,
    );
    if (res.status >= 200 && res.status < 300 && res.json?.success !== false) {
      const id = res.json?.message?.id?._serialized ?? res.json?.message?._data?.id?._serialized;
      if (typeof id !== 'string' || id === '')
        throw new SendError('temporary', 'BAD_RESPONSE', 'wwebjs answered without a message id', res.text.slice(0, 500));
      return { externalId: id };
    }
    throw this.error(res);
  }

  /** Classifies a refused call (see the class comment). */
  private error(res: { status: number; json: any }): SendError {
    const error = typeof res.json?.error === 'string' ? res.json.error : `HTTP ${res.status}`;
    if (res.status === 403 || res.status === 401) return new SendError('auth', String(res.status), error);
    if (res.status === 404 && /not_connected|not connected/i.test(error)) return new SendError('temporary', 'SESSION_NOT_CONNECTED', error);
    return new SendError(httpErrorKind(res.status), String(res.status), error);
  }
}
