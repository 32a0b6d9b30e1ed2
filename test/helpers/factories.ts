import type { DataSource } from 'typeorm';

/**
 * Stores an outbound message as the sending path does (issue 5 owns sending; until then this is how a test gets
 * a message we sent, for status callbacks to update). Creates its session and conversation when missing.
 * @returns the message id.
 */
export async function insertOutboundMessage(
  db: DataSource,
  opts: { provider: 'meta' | 'wablas'; sessionExternalId: string; externalId: string; to: string; text?: string; status?: string },
): Promise<string> {
  const [session] = await db.query(
    `INSERT INTO sessions (provider, external_id, status) VALUES ($1, $2, 'connected')
     ON CONFLICT (provider, external_id) DO UPDATE SET updated_at = now() RETURNING id`,
    [opts.provider, opts.sessionExternalId],
  );
  const [conversation] = await db.query(
    `INSERT INTO conversations (session_id, chat_id, message_count, last_message_at, last_message_direction) VALUES ($1, $2, 1, now(), 'out')
     ON CONFLICT (session_id, chat_id) DO UPDATE SET message_count = conversations.message_count + 1, updated_at = now() RETURNING id`,
    [session.id, opts.to],
  );
  const [message] = await db.query(
    `INSERT INTO messages (session_id, conversation_id, external_id, direction, type, chat_id, text, status, provider_timestamp)
     VALUES ($1, $2, $3, 'out', 'text', $4, $5, $6, now()) RETURNING id`,
    [session.id, conversation.id, opts.externalId, opts.to, opts.text ?? 'hello', opts.status ?? 'sent'],
  );
  return String(message.id);
}
