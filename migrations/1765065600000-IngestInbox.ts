import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ingest inbox (issue 16): a webhook is acknowledged once its raw event (`webhook_events`, the exact bytes and
 * dedupe key) and its canonical events (`ingest_inbox.events`, what the normaliser made of it) are committed; the
 * applier (src/ingest/ingest-applier.ts) writes messages, conversations, contacts, statuses and the event log from
 * the inbox afterwards, in batches, and deletes the rows it applied in the same transaction. A row here is an
 * acknowledged webhook not yet applied; `acked_at` is when it was acknowledged (the ingest lag's start).
 */
export class IngestInbox1765065600000 implements MigrationInterface {
  name = 'IngestInbox1765065600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ingest_inbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        webhook_event_id bigint NOT NULL, -- no FK: written in the same transaction as its raw event
        acked_at timestamptz NOT NULL DEFAULT now(),
        events jsonb NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS wa_ingest_inbox(jsonb, bytea[])`);
    await q.query(`DROP FUNCTION IF EXISTS wa_ingest_apply(jsonb, bigint[])`);
    await q.query(`DROP TABLE IF EXISTS ingest_inbox`);
  }
}
