import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { SqlWhere } from '../common/sql-where';
import type { OutboundRequest } from '../domain/message-sender';
import type { SessionRow } from '../sessions/sessions.repository';

/** An `idempotency_keys` row as {@link SendingRepository.findIdempotencyKey} reads it. */
export interface IdempotencyKeyRow {
  /** sha256 (hex) of the request body. */
  request_hash: string;
  /** The message the first request queued (bigint as decimal text); null once that message was deleted. */
  message_id: string | null;
  /** Created within the key's window (`ttlHours`). */
  fresh: boolean;
}

/** A conversation's newest inbound message with a provider id, and its session (for read receipts). */
export interface NewestInboundRow {
  /** messages.id (bigint) as decimal text. */
  id: string;
  external_id: string;
  /** sessions.provider */
  provider: string;
  session_id: string;
}

/** What {@link SendingRepository.queueSend} writes. */
export interface QueueSendInput {
  sessionId: string;
  request: OutboundRequest;
  /** The job gives up at now + this (s). */
  deadlineSeconds: number;
  /** The inbound message this auto-reply answers: nothing is written when it already has one. */
  triggerMessageId?: string;
  /** Claims this `Idempotency-Key` for the message, in the same transaction. */
  idempotency?: { apiKeyId: string; key: string; requestHash: string };
}

/** A concurrent request won the Idempotency-Key: rolls the transaction back. */
class IdempotencyRace extends Error {}

/**
 * The SQL of accepting outbound messages: picking the session, Idempotency-Key rows, and writing the message with
 * its outbox job (tables sessions, messages, contacts, conversations, outbox_jobs, idempotency_keys).
 */
@Injectable()
export class SendingRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * @returns the key's row (whether it is within `ttlHours`), or null when the key is unknown.
   * @throws the database's error.
   */
  async findIdempotencyKey(apiKeyId: string, key: string, ttlHours: number): Promise<IdempotencyKeyRow | null> {
    const [row] = (await this.db.query(
      `SELECT request_hash, message_id, created_at > now() - interval '${ttlHours} hours' AS fresh FROM idempotency_keys WHERE api_key_id = $1 AND key = $2`,
      [apiKeyId, key],
    )) as IdempotencyKeyRow[];
    return row ?? null;
  }

  /**
   * Forgets a key (an expired one, before it is used again).
   * @returns nothing.
   * @throws the database's error.
   */
  async deleteIdempotencyKey(apiKeyId: string, key: string): Promise<void> {
    await this.db.query(`DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2`, [apiKeyId, key]);
  }

  /**
   * A session by wa-hub id.
   * @param visibleIds the only sessions the caller may see (an API key's `sessionIds`); null/undefined for all.
   * @returns the session, or null when it does not exist or is not visible.
   * @throws the database's error (e.g. an id that is not a uuid).
   */
  async findSession(id: string, visibleIds?: readonly string[] | null): Promise<SessionRow | null> {
    const where = scoped(visibleIds).add('s.id = ?', id);
    const [row] = (await this.db.query(`SELECT s.* FROM sessions s ${where}`, where.params)) as SessionRow[];
    return row ?? null;
  }

  /**
   * @param visibleIds as for {@link findSession}.
   * @returns up to 11 connected sessions (enough to tell "more than 10"), oldest first.
   * @throws the database's error.
   */
  async connectedSessions(visibleIds?: readonly string[] | null): Promise<SessionRow[]> {
    const where = scoped(visibleIds).add(`s.status = 'connected'`);
    return (await this.db.query(`SELECT s.* FROM sessions s ${where} ORDER BY s.created_at LIMIT 11`, where.params)) as SessionRow[];
  }

  /**
   * Whether `chatId` (E.164 digits) is already a conversation of the session: someone who wrote to it, or was
   * written to, is reachable even when libphonenumber-js' metadata does not know the number's range.
   * @throws the database's error.
   */
  async isKnownChat(sessionId: string, chatId: string): Promise<boolean> {
    const rows = (await this.db.query(`SELECT 1 FROM conversations WHERE session_id = $1 AND chat_id = $2 LIMIT 1`, [
      sessionId,
      chatId,
    ])) as unknown[];
    return rows.length > 0;
  }

  /**
   * @param messageId a wa-hub message id (digits).
   * @returns `{ external_id }` of that message of the session (null while it has no provider id), or null when the
   *   session has no such message.
   * @throws the database's error.
   */
  async findMessageExternalId(messageId: string, sessionId: string): Promise<{ external_id: string | null } | null> {
    const [row] = (await this.db.query(`SELECT external_id FROM messages WHERE id = $1 AND session_id = $2`, [messageId, sessionId])) as {
      external_id: string | null;
    }[];
    return row ?? null;
  }

  /**
   * Writes the contact (not for groups), the conversation (counters, preview), the message (direction out, status
   * `queued`) and its outbox job, and claims the Idempotency-Key when given: all in ONE transaction.
   * @returns the new message id (bigint as decimal text), or null when nothing was written: the trigger message
   *   already has a reply, or a concurrent request claimed the same Idempotency-Key (rolled back).
   * @throws the database's error (nothing is written then), e.g. 23505 for a concurrent reply to the same trigger.
   */
  async queueSend(input: QueueSendInput): Promise<string | null> {
    let messageId: string | null = null;
    await this.db
      .transaction(async (m) => {
        messageId = await this.insert(m, input);
        if (messageId === null || !input.idempotency) return;
        const { apiKeyId, key, requestHash } = input.idempotency;
        const claimed = (await m.query(
          `INSERT INTO idempotency_keys (api_key_id, key, request_hash, message_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
          [apiKeyId, key, requestHash, messageId],
        )) as unknown[];
        // A concurrent request with the same key won: roll this one back.
        if (claimed.length === 0) throw new IdempotencyRace();
      })
      .catch((e) => {
        if (!(e instanceof IdempotencyRace)) throw e;
        messageId = null;
      });
    return messageId;
  }

  /** The writes of {@link queueSend}, in its transaction; null when the trigger message already has a reply. */
  private async insert(
    m: EntityManager,
    { sessionId, request: r, deadlineSeconds, triggerMessageId }: QueueSendInput,
  ): Promise<string | null> {
    if (triggerMessageId && (await m.query(`SELECT 1 FROM outbox_jobs WHERE trigger_message_id = $1`, [triggerMessageId])).length)
      return null;
    const text = r.text?.body ?? null;
    const caption = r.media?.caption ?? null;
    const payload = r.reaction
      ? { targetExternalId: r.reaction.messageExternalId, emoji: r.reaction.emoji }
      : r.template
        ? { template: r.template }
        : r.text?.previewUrl
          ? { previewUrl: true }
          : null;
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
        sessionId,
        r.to,
        r.isGroup,
        r.type,
        text,
        caption,
        r.media ? JSON.stringify(r.media) : null,
        r.location ? JSON.stringify(r.location) : null,
        r.replyToExternalId ?? null,
        payload ? JSON.stringify(payload) : null,
        JSON.stringify(r),
        deadlineSeconds,
        triggerMessageId ?? null,
      ],
    )) as { id: string }[];
    return String(message.id);
  }

  /**
   * @returns the conversation's newest inbound message that has a provider id, with its session's provider, or
   *   null when there is none.
   * @throws the database's error.
   */
  async newestInbound(conversationId: string): Promise<NewestInboundRow | null> {
    const [row] = (await this.db.query(
      `SELECT m.id, m.external_id, s.provider, s.id AS session_id FROM messages m JOIN sessions s ON s.id = m.session_id
       WHERE m.conversation_id = $1 AND m.direction = 'in' AND m.external_id IS NOT NULL ORDER BY m.provider_timestamp DESC, m.id DESC LIMIT 1`,
      [conversationId],
    )) as NewestInboundRow[];
    return row ?? null;
  }

  /**
   * Queues a read receipt job for `messageId` (due now, giving up after an hour).
   * @returns nothing.
   * @throws the database's error.
   */
  async queueReadReceipt(messageId: string, sessionId: string, messageExternalId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO outbox_jobs (message_id, session_id, kind, request, deadline_at) VALUES ($1, $2, 'read_receipt', $3, now() + interval '1 hour')`,
      [messageId, sessionId, JSON.stringify({ messageExternalId })],
    );
  }
}

/** A WHERE clause (alias `s`) limited to `visibleIds` when given. */
function scoped(visibleIds: readonly string[] | null | undefined): SqlWhere {
  const where = new SqlWhere();
  if (visibleIds) where.add('s.id = ANY(?::uuid[])', visibleIds);
  return where;
}
