import { HttpStatus, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { stringify as stableJson } from 'safe-stable-stringify';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { requireKnownPhone } from '../common/phone';
import { AppConfig } from '../config/app-config';
import type { MessageWithRawResponseDto } from '../messages/message.dto';
import { MediaService } from '../media/media.service';
import { MessagesService } from '../messages/messages.service';
import type { OutboundRequest } from '../domain/message-sender';
import type { SessionRow } from '../sessions/sessions.repository';
import { OutboxSignal } from './outbox-signal';
import type { SendMediaDto, SendMessageDto } from './send-message.dto';
import { type QueuedMedia, SenderRegistry } from './sender-registry';
import { SendingRepository } from './sending.repository';

export const IDEMPOTENCY_TTL_HOURS = 24;

/** A queued send: the stored message and whether it is the replay of an earlier request with the same key. */
export interface QueuedSend {
  message: MessageWithRawResponseDto;
  replayed: boolean;
}

/**
 * Accepts outbound messages: picks the session, checks the provider can send the type, and writes the message
 * (direction out, status `queued`) with its outbox job in ONE transaction; the worker sends it in the background.
 * The SQL is in {@link SendingRepository}.
 */
@Injectable()
export class SendingService {
  constructor(
    private readonly repo: SendingRepository,
    private readonly config: AppConfig,
    private readonly senders: SenderRegistry,
    private readonly messages: MessagesService,
    private readonly signal: OutboxSignal,
    private readonly media: MediaService,
  ) {}

  /**
   * Queues one message.
   * @param idempotencyKey `Idempotency-Key` header: the same key and body within 24 h returns the first message and
   *   queues nothing.
   * @throws AppError 400 naming the field (missing type object, bad number, unknown reply target, Idempotency-Key
   *   not 1-255 characters), 404 unknown or
   *   invisible session, 409 `CONFLICT` key reused with another body, 422 `CAPABILITY_NOT_SUPPORTED` (type the
   *   provider cannot send, or an upload (`mediaId`, 400 when unknown) a link-only provider cannot fetch) or `SESSION_REQUIRED` (no session given and none or several connected).
   */
  async send(
    dto: SendMessageDto,
    key: AuthenticatedKey | undefined,
    idempotencyKey?: string,
    triggerMessageId?: string,
  ): Promise<QueuedSend> {
    // Checked here, not per route: the seed compat routes take the header too (the column is varchar(255)).
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
      throw AppError.badRequest('Idempotency-Key must be 1-255 characters', [{ field: 'Idempotency-Key', errors: ['1-255 characters'] }]);
    }
    const requestHash = createHash('sha256')
      .update(stableJson(dto) ?? '')
      .digest('hex'); // key order does not change the hash
    if (idempotencyKey !== undefined && key) {
      const earlier = await this.idempotent(key.id, idempotencyKey, requestHash);
      if (earlier) return earlier;
    }
    const session = await this.chooseSession(dto.sessionId, key);
    const request = await this.toRequest(dto, session);
    // Contact, conversation, message and job in one transaction. With a text trigger (auto-replies) nothing is
    // written when that inbound message already has a reply; a concurrent request that won the same key rolls
    // this one back: then it is answered with that request's message.
    const messageId = await this.repo.queueSend({
      sessionId: session.id,
      request,
      deadlineSeconds: this.config.SEND_RETRY_DEADLINE_SECONDS,
      triggerMessageId,
      idempotency: idempotencyKey !== undefined && key ? { apiKeyId: key.id, key: idempotencyKey, requestHash } : undefined,
    });
    if (messageId === null && idempotencyKey !== undefined && key) {
      const earlier = await this.idempotent(key.id, idempotencyKey, requestHash);
      if (earlier) return earlier;
    }
    if (messageId === null) throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', 'This inbound message already has an auto-reply');
    this.signal.wake();
    return { message: await this.messages.get(messageId), replayed: false };
  }

  /** @returns the earlier result of this key, or null when the key is new (or older than 24 h, then forgotten). */
  private async idempotent(apiKeyId: string, idempotencyKey: string, requestHash: string): Promise<QueuedSend | null> {
    const row = await this.repo.findIdempotencyKey(apiKeyId, idempotencyKey, IDEMPOTENCY_TTL_HOURS);
    if (!row) return null;
    if (!row.fresh) {
      await this.repo.deleteIdempotencyKey(apiKeyId, idempotencyKey);
      return null;
    }
    if (row.request_hash !== requestHash) {
      throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', 'Idempotency-Key was already used with a different request body', [
        { field: 'Idempotency-Key', errors: ['reused with a different body'] },
      ]);
    }
    return { message: await this.messages.get(String(row.message_id)), replayed: true };
  }

  /** @throws AppError 404 / 422 `SESSION_REQUIRED` as described on {@link send}. */
  private async chooseSession(sessionId: string | undefined, key: AuthenticatedKey | undefined): Promise<SessionRow> {
    const wanted = sessionId ?? this.config.DEFAULT_SESSION_ID;
    if (wanted) {
      const row = await this.repo.findSession(wanted, key?.sessionIds);
      if (!row) throw AppError.notFound('Session');
      return row;
    }
    const rows = await this.repo.connectedSessions(key?.sessionIds);
    if (rows.length === 1) return rows[0];
    const why =
      rows.length === 0
        ? 'No connected session to send from; pass sessionId'
        : `${rows.length > 10 ? 'More than 10' : rows.length} sessions are connected (${rows
            .slice(0, 10)
            .map((r) => r.id)
            .join(', ')}); pass sessionId or set DEFAULT_SESSION_ID`;
    throw new AppError(HttpStatus.UNPROCESSABLE_ENTITY, 'SESSION_REQUIRED', why, [{ field: 'sessionId', errors: [why] }]);
  }

  /**
   * E.164 digits of `to`: what libphonenumber-js calls valid, or a number that is already a chat of the session
   * (it wrote to us through a provider, whose numbers are stored as sent: replying to it must work).
   * @throws AppError 400 `VALIDATION_FAILED` naming DEFAULT_PHONE_REGION otherwise.
   */
  private recipient(to: string, session: SessionRow): Promise<string> {
    return requireKnownPhone(to, 'to', this.config.DEFAULT_PHONE_REGION, (digits) => this.repo.isKnownChat(session.id, digits));
  }

  /** @throws AppError 400 / 422 as described on {@link send}. */
  private async toRequest(dto: SendMessageDto, session: SessionRow): Promise<OutboundRequest> {
    const sender = this.senders.get(session.provider);
    if (!sender || !sender.capabilities.has(dto.type)) {
      throw new AppError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'CAPABILITY_NOT_SUPPORTED',
        `${session.provider} sessions cannot send ${dto.type} messages`,
        [{ field: 'type', errors: [`not supported by ${session.provider}`] }],
      );
    }
    const part = (dto as unknown as Record<string, unknown>)[dto.type];
    if (!part)
      throw AppError.badRequest(`${dto.type} is required when type is ${dto.type}`, [
        { field: dto.type, errors: ['required for this type'] },
      ]);
    const isGroup = dto.to.trim().endsWith('@g.us');
    const to = isGroup ? dto.to.trim() : await this.recipient(dto.to, session);
    const request: OutboundRequest = { type: dto.type, to, isGroup };
    if (dto.type === 'text') request.text = dto.text;
    else if (dto.type === 'location') request.location = dto.location;
    else if (dto.type === 'template') request.template = dto.template;
    else if (dto.type === 'reaction')
      request.reaction = {
        messageExternalId: await this.providerId(dto.reaction!.messageId, session, 'reaction.messageId'),
        emoji: dto.reaction!.emoji,
      };
    else {
      const media = part as SendMediaDto;
      if ([media.link, media.id, media.mediaId].filter((v) => v !== undefined).length !== 1)
        throw AppError.badRequest(`${dto.type} needs exactly one of link, id or mediaId`, [
          { field: `${dto.type}.link`, errors: ['exactly one of link, id or mediaId'] },
        ]);
      if (media.id && !sender.mediaById)
        throw new AppError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'CAPABILITY_NOT_SUPPORTED',
          `${session.provider} sessions send media by link only`,
          [{ field: `${dto.type}.id`, errors: [`${session.provider} takes media by link only`] }],
        );
      const queued: QueuedMedia = { link: media.link, id: media.id, caption: media.caption, filename: media.filename };
      if (media.mediaId) {
        if (!this.senders.sendsUploads(session.provider))
          throw new AppError(
            HttpStatus.UNPROCESSABLE_ENTITY,
            'CAPABILITY_NOT_SUPPORTED',
            `${session.provider} sessions take files by URL: set MEDIA_PUBLIC_BASE_URL to send uploads`,
            [{ field: `${dto.type}.mediaId`, errors: [`${session.provider} needs MEDIA_PUBLIC_BASE_URL for uploads`] }],
          );
        const file = await this.media.uploaded(media.mediaId, `${dto.type}.mediaId`);
        queued.upload = { mediaId: file.id, mimeType: file.mimeType, size: file.size, sha256: file.sha256, filename: file.filename };
      }
      request.media = queued;
    }
    if (dto.context) request.replyToExternalId = await this.providerId(dto.context.messageId, session, 'context.messageId');
    return request;
  }

  /**
   * The provider id of a message named by wa-hub id (digits) or by provider id.
   * @throws AppError 400 naming `field` when a wa-hub id is unknown in the session or not yet sent.
   */
  private async providerId(ref: string, session: SessionRow, field: string): Promise<string> {
    if (!/^\d{1,18}$/.test(ref)) return ref;
    const row = await this.repo.findMessageExternalId(ref, session.id);
    if (!row) throw AppError.badRequest(`${field}: no message ${ref} in this session`, [{ field, errors: ['unknown message'] }]);
    if (!row.external_id)
      throw AppError.badRequest(`${field}: message ${ref} has no provider id yet`, [{ field, errors: ['not sent yet'] }]);
    return row.external_id;
  }

  /**
   * Queues Meta read receipts for a conversation's newest inbound message (Meta marks the earlier ones read with
   * it; fixture meta/outbound/requests/mark_read.json). Nothing for providers without read receipts.
   * Called by ConversationsService.markRead when it marked anything.
   */
  async queueReadReceipt(conversationId: string): Promise<void> {
    const row = await this.repo.newestInbound(conversationId);
    if (!row || !this.senders.get(row.provider)?.readReceipts) return;
    await this.repo.queueReadReceipt(row.id, row.session_id, row.external_id);
    this.signal.wake();
  }
}
