import { HttpStatus, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { stringify as stableJson } from 'safe-stable-stringify';
import type { CountryCode } from 'libphonenumber-js';
import { DataSource, EntityManager } from 'typeorm';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import { normalizePhone } from '../common/phone';
import { SqlWhere } from '../common/sql-where';
import { AppConfig } from '../config/app-config';
import type { MessageWithRawResponseDto } from '../messages/message.dto';
import { MessagesService, scopeToKey } from '../messages/messages.service';
import type { OutboundMedia, OutboundRequest } from '../domain/message-sender';
import { OutboxSignal } from './outbox-signal';
import type { SendMessageDto } from './send-message.dto';
import { SenderRegistry } from './sender-registry';

type Row = Record<string, unknown>;
export const IDEMPOTENCY_TTL_HOURS = 24;

/** A queued send: the stored message and whether it is the replay of an earlier request with the same key. */
export interface QueuedSend {
  message: MessageWithRawResponseDto;
  replayed: boolean;
}

/**
 * Accepts outbound messages: picks the session, checks the provider can send the type, and writes the message
 * (direction out, status `queued`) with its outbox job in ONE transaction; the worker sends it in the background.
 */
@Injectable()
export class SendingService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly senders: SenderRegistry,
    private readonly messages: MessagesService,
    private readonly signal: OutboxSignal,
  ) {}

  /**
   * Queues one message.
   * @param idempotencyKey `Idempotency-Key` header: the same key and body within 24 h returns the first message and
   *   queues nothing.
   * @throws AppError 400 naming the field (missing type object, bad number, unknown reply target, Idempotency-Key
   *   not 1-255 characters), 404 unknown or
   *   invisible session, 409 `CONFLICT` key reused with another body, 422 `CAPABILITY_NOT_SUPPORTED` (type the
   *   provider cannot send) or `SESSION_REQUIRED` (no session given and none or several connected).
   */
  async send(dto: SendMessageDto, key: AuthenticatedKey | undefined, idempotencyKey?: string, triggerMessageId?: string): Promise<QueuedSend> {
    // Checked here, not per route: the seed compat routes take the header too (the column is varchar(255)).
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
      throw AppError.badRequest('Idempotency-Key must be 1-255 characters', [{ field: 'Idempotency-Key', errors: ['1-255 characters'] }]);
    }
    const requestHash = createHash('sha256').update(stableJson(dto) ?? '').digest('hex'); // key order does not change the hash
    if (idempotencyKey !== undefined && key) {
      const earlier = await this.idempotent(key.id, idempotencyKey, requestHash);
      if (earlier) return earlier;
    }
    const session = await this.chooseSession(dto.sessionId, key);
    const request = await this.toRequest(dto, session);
    let messageId: string | undefined;
    await this.db.transaction(async (m) => {
      messageId = await this.insert(m, session, request, triggerMessageId);
      if (messageId === undefined) return;
      if (idempotencyKey !== undefined && key) {
        const claimed = (await m.query(
          `INSERT INTO idempotency_keys (api_key_id, key, request_hash, message_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
          [key.id, idempotencyKey, requestHash, messageId],
        )) as Row[];
        // A concurrent request with the same key won: roll this one back and answer with its message.
        if (claimed.length === 0) throw new IdempotencyRace();
      }
    }).catch(async (e) => {
      if (!(e instanceof IdempotencyRace)) throw e;
      messageId = undefined;
    });
    if (messageId === undefined && idempotencyKey !== undefined && key) {
      const earlier = await this.idempotent(key.id, idempotencyKey, requestHash);
      if (earlier) return earlier;
    }
    if (messageId === undefined) throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', 'This inbound message already has an auto-reply');
    this.signal.wake();
    return { message: await this.messages.get(messageId), replayed: false };
  }

  /** @returns the earlier result of this key, or null when the key is new (or older than 24 h, then forgotten). */
  private async idempotent(apiKeyId: string, idempotencyKey: string, requestHash: string): Promise<QueuedSend | null> {
    const [row] = (await this.db.query(
      `SELECT request_hash, message_id, created_at > now() - interval '${IDEMPOTENCY_TTL_HOURS} hours' AS fresh FROM idempotency_keys WHERE api_key_id = $1 AND key = $2`,
      [apiKeyId, idempotencyKey],
    )) as Row[];
    if (!row) return null;
    if (!row.fresh) {
      await this.db.query(`DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2`, [apiKeyId, idempotencyKey]);
      return null;
    }
    if (row.request_hash !== requestHash) {
      throw new AppError(HttpStatus.CONFLICT, 'CONFLICT', 'Idempotency-Key was already used with a different request body', [{ field: 'Idempotency-Key', errors: ['reused with a different body'] }]);
    }
    return { message: await this.messages.get(String(row.message_id)), replayed: true };
  }

  /** @throws AppError 404 / 422 `SESSION_REQUIRED` as described on {@link send}. */
  private async chooseSession(sessionId: string | undefined, key: AuthenticatedKey | undefined): Promise<Row> {
    const where = new SqlWhere();
    scopeToKey(where, key, 's.id');
    const wanted = sessionId ?? this.config.DEFAULT_SESSION_ID;
    if (wanted) {
      where.add('s.id = ?', wanted);
      const [row] = (await this.db.query(`SELECT s.* FROM sessions s ${where}`, where.params)) as Row[];
      if (!row) throw AppError.notFound('Session');
      return row;
    }
    where.add(`s.status = 'connected'`);
    const rows = (await this.db.query(`SELECT s.* FROM sessions s ${where} ORDER BY s.created_at LIMIT 11`, where.params)) as Row[];
    if (rows.length === 1) return rows[0];
    const why = rows.length === 0
      ? 'No connected session to send from; pass sessionId'
      : `${rows.length > 10 ? 'More than 10' : rows.length} sessions are connected (${rows.slice(0, 10).map((r) => r.id).join(', ')}); pass sessionId or set DEFAULT_SESSION_ID`;
    throw new AppError(HttpStatus.UNPROCESSABLE_ENTITY, 'SESSION_REQUIRED', why, [{ field: 'sessionId', errors: [why] }]);
  }

  /** @throws AppError 400 / 422 as described on {@link send}. */
  private async toRequest(dto: SendMessageDto, session: Row): Promise<OutboundRequest> {
    const sender = this.senders.get(session.provider as string);
    if (!sender || !sender.capabilities.has(dto.type)) {
      throw new AppError(HttpStatus.UNPROCESSABLE_ENTITY, 'CAPABILITY_NOT_SUPPORTED', `${session.provider} sessions cannot send ${dto.type} messages`, [{ field: 'type', errors: [`not supported by ${session.provider}`] }]);
    }
    const part = (dto as unknown as Record<string, unknown>)[dto.type];
    if (!part) throw AppError.badRequest(`${dto.type} is required when type is ${dto.type}`, [{ field: dto.type, errors: ['required for this type'] }]);
    const isGroup = dto.to.trim().endsWith('@g.us');
    const to = isGroup ? dto.to.trim() : normalizePhone(dto.to, this.config.DEFAULT_PHONE_REGION as CountryCode | undefined);
    if (!to) throw AppError.badRequest('to is not a valid phone number or group id', [{ field: 'to', errors: ['not a valid phone number'] }]);
    const request: OutboundRequest = { type: dto.type, to, isGroup };
    if (dto.type === 'text') request.text = dto.text;
    else if (dto.type === 'location') request.location = dto.location;
    else if (dto.type === 'template') request.template = dto.template;
    else if (dto.type === 'reaction') request.reaction = { messageExternalId: await this.providerId(dto.reaction!.messageId, session, 'reaction.messageId'), emoji: dto.reaction!.emoji };
    else {
      const media = part as OutboundMedia;
      if (!media.link === !media.id) throw AppError.badRequest(`${dto.type} needs exactly one of link or id`, [{ field: `${dto.type}.link`, errors: ['exactly one of link or id'] }]);
      if (media.id && !sender.mediaById) throw new AppError(HttpStatus.UNPROCESSABLE_ENTITY, 'CAPABILITY_NOT_SUPPORTED', `${session.provider} sessions send media by link only`, [{ field: `${dto.type}.id`, errors: [`${session.provider} takes media by link only`] }]);
      request.media = { link: media.link, id: media.id, caption: media.caption, filename: media.filename };
    }
    if (dto.context) request.replyToExternalId = await this.providerId(dto.context.messageId, session, 'context.messageId');
    return request;
  }

  /**
   * The provider id of a message named by wa-hub id (digits) or by provider id.
   * @throws AppError 400 naming `field` when a wa-hub id is unknown in the session or not yet sent.
   */
  private async providerId(ref: string, session: Row, field: string): Promise<string> {
    if (!/^\d{1,18}$/.test(ref)) return ref;
    const [row] = (await this.db.query(`SELECT external_id FROM messages WHERE id = $1 AND session_id = $2`, [ref, session.id])) as Row[];
    if (!row) throw AppError.badRequest(`${field}: no message ${ref} in this session`, [{ field, errors: ['unknown message'] }]);
    if (!row.external_id) throw AppError.badRequest(`${field}: message ${ref} has no provider id yet`, [{ field, errors: ['not sent yet'] }]);
    return row.external_id as string;
  }

  /**
   * Writes the contact, conversation (counters, preview), message and outbox job, in the caller's transaction. With `triggerMessageId` (auto-replies) nothing is
   * written when that inbound message already has a reply.
   * @returns the message id, or undefined when skipped.
   */
  private async insert(m: EntityManager, session: Row, r: OutboundRequest, triggerMessageId?: string): Promise<string | undefined> {
    if (triggerMessageId && (await m.query(`SELECT 1 FROM outbox_jobs WHERE trigger_message_id = $1`, [triggerMessageId])).length) return undefined;
    const text = r.text?.body ?? null;
    const caption = r.media?.caption ?? null;
    const payload = r.reaction ? { targetExternalId: r.reaction.messageExternalId, emoji: r.reaction.emoji } : r.template ? { template: r.template } : r.text?.previewUrl ? { previewUrl: true } : null;
    // One statement: contact (not for groups), conversation with its counters bumped, message, outbox job.
    const [message] = (await m.query(
      `WITH new_contact AS (
         INSERT INTO contacts (phone) SELECT $2 WHERE NOT $3 ON CONFLICT (phone) DO NOTHING RETURNING id
       ), contact AS (
         SELECT id FROM new_contact UNION ALL SELECT id FROM contacts WHERE phone = $2 AND NOT $3 LIMIT 1
       ), conversation AS (
         INSERT INTO conversations (session_id, chat_id, is_group, contact_id, message_count, last_message_at, last_message_direction, last_message_preview)
         VALUES ($1, $2, $3, (SELECT id FROM contact), 1, now(), 'out', left(coalesce($5, $6, '[' || $4 || ']'), 200))
         ON CONFLICT (session_id, chat_id) DO UPDATE SET message_count = conversations.message_count + 1, last_message_at = now(),
           last_message_direction = 'out', last_message_preview = EXCLUDED.last_message_preview, updated_at = now()
         RETURNING id
       ), message AS (
         INSERT INTO messages (session_id, conversation_id, contact_id, direction, type, chat_id, text, caption, media, location,
           reply_to_external_id, payload, status, status_at, provider_timestamp)
         SELECT $1, conversation.id, (SELECT id FROM contact), 'out', $4, $2, $5, $6, $7, $8, $9, $10, 'queued', now(), now() FROM conversation
         RETURNING id
       )
       INSERT INTO outbox_jobs (message_id, session_id, kind, request, deadline_at, trigger_message_id)
       SELECT message.id, $1, 'send', $11, now() + make_interval(secs => $12), $13 FROM message
       RETURNING message_id AS id`,
      [
        session.id, r.to, r.isGroup, r.type, text, caption, r.media ? JSON.stringify(r.media) : null, r.location ? JSON.stringify(r.location) : null,
        r.replyToExternalId ?? null, payload ? JSON.stringify(payload) : null, JSON.stringify(r), this.config.SEND_RETRY_DEADLINE_SECONDS, triggerMessageId ?? null,
      ],
    )) as Row[];
    return String(message.id);
  }

  /**
   * Queues Meta read receipts for a conversation's newest inbound message (Meta marks the earlier ones read with
   * it; fixture meta/outbound/requests/mark_read.json). Nothing for providers without read receipts.
   * Called by ConversationsService.markRead when it marked anything.
   */
  async queueReadReceipt(conversationId: string): Promise<void> {
    const [row] = (await this.db.query(
      `SELECT m.id, m.external_id, s.provider, s.id AS session_id FROM messages m JOIN sessions s ON s.id = m.session_id
       WHERE m.conversation_id = $1 AND m.direction = 'in' AND m.external_id IS NOT NULL ORDER BY m.provider_timestamp DESC, m.id DESC LIMIT 1`,
      [conversationId],
    )) as Row[];
    if (!row || !this.senders.get(row.provider as string)?.readReceipts) return;
    await this.db.query(
      `INSERT INTO outbox_jobs (message_id, session_id, kind, request, deadline_at) VALUES ($1, $2, 'read_receipt', $3, now() + interval '1 hour')`,
      [row.id, row.session_id, JSON.stringify({ messageExternalId: row.external_id })],
    );
    this.signal.wake();
  }
}

class IdempotencyRace extends Error {}
