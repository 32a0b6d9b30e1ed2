import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reads that stay fast while webhooks pour in (issue 18).
 *
 * Hourly roll-ups beside the daily ones (migration 1764115200000-StatsRollups): `GET /v1/stats` reads whole days
 * from `message_stats_daily` / `delivery_latency_daily`, whole hours of its edge days from `message_stats_hourly` /
 * `delivery_latency_hourly`, and from the messages themselves only the partial hours at its two edges, choosing for
 * each edge the cheaper of "add the part inside the window" and "take the whole hour, subtract the part outside"
 * (src/stats/stats-window.ts). Before, the partial days were read live: a 30-day window ending now read every
 * message of today, which grows by 86 million a day at 1,000 webhooks/s, and every status event of the partial
 * day 30 days ago (random reads, one per outgoing message). Now a window ending now reads the messages after now
 * (none) and at most half an hour of messages at its start.
 *
 * The hourly tables are kept exact by the same statement-level triggers (re-pointed at new functions that write
 * both granularities in one pass over the transition table, daily then hourly, in key order), sharded by
 * transaction id like the daily ones, and folded into shard 0 by `wa_stats_compact()` for days before today.
 *
 * Name search in the conversation list: trigram indexes on what `q=` compares, so a name filter reads the matching
 * contacts and conversations once instead of folding every conversation's name (the unread filter matches
 * thousands of conversations while webhooks arrive): the contact's name (book name, else profile name) and the
 * conversation's subject (groups, or conversations whose contact has no name). Neither column changes when a
 * message bumps its conversation, so those updates stay HOT.
 */
export class ReadsUnderLoad1764720000000 implements MigrationInterface {
  name = 'ReadsUnderLoad1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE message_stats_hourly (
        hour timestamptz NOT NULL,
        session_id uuid NOT NULL,
        direction varchar(3) NOT NULL,
        type varchar(32) NOT NULL,
        status varchar(16) NOT NULL,
        shard smallint NOT NULL,
        messages bigint NOT NULL,
        PRIMARY KEY (hour, session_id, direction, type, status, shard)
      )`);
    await q.query(`
      CREATE TABLE delivery_latency_hourly (
        hour timestamptz NOT NULL,
        session_id uuid NOT NULL,
        status varchar(16) NOT NULL,
        seconds integer NOT NULL,
        shard smallint NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (hour, session_id, status, seconds, shard)
      )`);
    await q.query(`
      CREATE FUNCTION wa_stats_hour(at timestamptz) RETURNS timestamptz
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$`);
    // d: rows {hour, session_id, direction, type, status, n}; the day rows first, then the hour rows, each in key
    // order, so concurrent writers on one shard lock rows in the same order.
    await q.query(`
      CREATE FUNCTION wa_stats_add_messages_hourly(d jsonb) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO message_stats_daily (day, session_id, direction, type, status, shard, messages)
        SELECT wa_stats_day(x.hour), x.session_id, x.direction, x.type, x.status, (txid_current() % 8)::smallint, sum(x.n)
        FROM jsonb_to_recordset(d) AS x(hour timestamptz, session_id uuid, direction text, type text, status text, n bigint)
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(x.n) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (day, session_id, direction, type, status, shard)
          DO UPDATE SET messages = message_stats_daily.messages + EXCLUDED.messages;
        INSERT INTO message_stats_hourly (hour, session_id, direction, type, status, shard, messages)
        SELECT x.hour, x.session_id, x.direction, x.type, x.status, (txid_current() % 8)::smallint, sum(x.n)
        FROM jsonb_to_recordset(d) AS x(hour timestamptz, session_id uuid, direction text, type text, status text, n bigint)
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(x.n) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (hour, session_id, direction, type, status, shard)
          DO UPDATE SET messages = message_stats_hourly.messages + EXCLUDED.messages;
      $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_add_latency_hourly(d jsonb) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO delivery_latency_daily (day, session_id, status, seconds, shard, n)
        SELECT wa_stats_day(x.hour), x.session_id, x.status, x.seconds, (txid_current() % 8)::smallint, sum(x.n)
        FROM jsonb_to_recordset(d) AS x(hour timestamptz, session_id uuid, status text, seconds int, n bigint)
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, session_id, status, seconds, shard) DO UPDATE SET n = delivery_latency_daily.n + EXCLUDED.n;
        INSERT INTO delivery_latency_hourly (hour, session_id, status, seconds, shard, n)
        SELECT x.hour, x.session_id, x.status, x.seconds, (txid_current() % 8)::smallint, sum(x.n)
        FROM jsonb_to_recordset(d) AS x(hour timestamptz, session_id uuid, status text, seconds int, n bigint)
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (hour, session_id, status, seconds, shard) DO UPDATE SET n = delivery_latency_hourly.n + EXCLUDED.n;
      $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_hourly_messages_inserted() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_messages_hourly(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_hour(provider_timestamp) AS hour, session_id, direction, type, status, count(*) AS n
              FROM new_rows GROUP BY 1, 2, 3, 4, 5) a HAVING count(*) > 0;
        PERFORM wa_stats_add_latency_hourly(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_hour(m.provider_timestamp) AS hour, m.session_id, e.status,
                round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int AS seconds, count(*) AS n
              FROM new_rows m JOIN message_status_events e ON e.session_id = m.session_id AND e.external_id = m.external_id
              WHERE m.direction = 'out' AND m.external_id IS NOT NULL AND e.status IN ('delivered', 'read')
              GROUP BY 1, 2, 3, 4) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_hourly_messages_deleted() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_messages_hourly(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_hour(provider_timestamp) AS hour, session_id, direction, type, status, -count(*) AS n
              FROM old_rows GROUP BY 1, 2, 3, 4, 5) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    // A move within a day but to another hour changes the hourly rows only (the day rows net to zero: skipped).
    await q.query(`
      CREATE FUNCTION wa_stats_hourly_messages_updated() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_messages_hourly(jsonb_agg(to_jsonb(a)))
        FROM (
          SELECT wa_stats_hour(c.provider_timestamp) AS hour, c.session_id, c.direction, c.type, c.status, sum(c.n) AS n
          FROM (
            SELECT o.provider_timestamp, o.session_id, o.direction, o.type, o.status, -1 AS n
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.status, o.type, o.direction, o.session_id, wa_stats_hour(o.provider_timestamp))
              IS DISTINCT FROM (n.status, n.type, n.direction, n.session_id, wa_stats_hour(n.provider_timestamp))
            UNION ALL
            SELECT n.provider_timestamp, n.session_id, n.direction, n.type, n.status, 1
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.status, o.type, o.direction, o.session_id, wa_stats_hour(o.provider_timestamp))
              IS DISTINCT FROM (n.status, n.type, n.direction, n.session_id, wa_stats_hour(n.provider_timestamp))
          ) c GROUP BY 1, 2, 3, 4, 5
        ) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_hourly_status_events_inserted() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_latency_hourly(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_hour(m.provider_timestamp) AS hour, m.session_id, e.status,
                round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int AS seconds, count(*) AS n
              FROM new_rows e JOIN messages m ON m.session_id = e.session_id AND m.external_id = e.external_id
              WHERE m.direction = 'out' AND e.status IN ('delivered', 'read')
              GROUP BY 1, 2, 3, 4) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_hourly_truncated() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_TABLE_NAME = 'messages' THEN DELETE FROM message_stats_daily; DELETE FROM message_stats_hourly; END IF;
        DELETE FROM delivery_latency_daily; -- not TRUNCATE: it may be in the statement that fired this
        DELETE FROM delivery_latency_hourly;
        RETURN NULL;
      END $$`);
    await this.pointTriggersAt(q, 'wa_stats_hourly_');
    await q.query(COMPACT_BOTH);
    // Existing data: counted once, into shard 0 (the daily rows are already there).
    await q.query(`
      INSERT INTO message_stats_hourly (hour, session_id, direction, type, status, shard, messages)
      SELECT wa_stats_hour(provider_timestamp), session_id, direction, type, status, 0, count(*) FROM messages GROUP BY 1, 2, 3, 4, 5`);
    await q.query(`
      INSERT INTO delivery_latency_hourly (hour, session_id, status, seconds, shard, n)
      SELECT wa_stats_hour(m.provider_timestamp), m.session_id, e.status, round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int, 0, count(*)
      FROM messages m JOIN message_status_events e ON e.session_id = m.session_id AND e.external_id = m.external_id
      WHERE m.direction = 'out' AND e.status IN ('delivered', 'read') GROUP BY 1, 2, 3, 4`);

    await q.query(
      `CREATE INDEX ix_contacts_name_search ON contacts USING gin (wa_fold(coalesce(name, profile_name, '')) public.gin_trgm_ops)`,
    );
    await q.query(
      `CREATE INDEX ix_conversations_subject_search ON conversations USING gin (wa_fold(coalesce(subject, '')) public.gin_trgm_ops)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS ix_conversations_subject_search`);
    await q.query(`DROP INDEX IF EXISTS ix_contacts_name_search`);
    await this.pointTriggersAt(q, 'wa_stats_');
    await q.query(COMPACT_DAILY);
    await q.query(
      `DROP FUNCTION IF EXISTS wa_stats_hourly_truncated(), wa_stats_hourly_status_events_inserted(), wa_stats_hourly_messages_updated(),
        wa_stats_hourly_messages_deleted(), wa_stats_hourly_messages_inserted(), wa_stats_add_latency_hourly(jsonb),
        wa_stats_add_messages_hourly(jsonb), wa_stats_hour(timestamptz)`,
    );
    await q.query(`DROP TABLE IF EXISTS delivery_latency_hourly, message_stats_hourly`);
  }

  /** (Re)creates the roll-up triggers of StatsRollups on the trigger functions named `{prefix}messages_inserted` etc. */
  private async pointTriggersAt(q: QueryRunner, prefix: string): Promise<void> {
    const triggers = [
      ['wa_stats_messages_trunc', 'AFTER TRUNCATE ON messages', '', 'truncated'],
      ['wa_stats_status_events_trunc', 'AFTER TRUNCATE ON message_status_events', '', 'truncated'],
      ['wa_stats_messages_ins', 'AFTER INSERT ON messages', 'REFERENCING NEW TABLE AS new_rows', 'messages_inserted'],
      ['wa_stats_messages_del', 'AFTER DELETE ON messages', 'REFERENCING OLD TABLE AS old_rows', 'messages_deleted'],
      ['wa_stats_messages_upd', 'AFTER UPDATE ON messages', 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows', 'messages_updated'],
      [
        'wa_stats_status_events_ins',
        'AFTER INSERT ON message_status_events',
        'REFERENCING NEW TABLE AS new_rows',
        'status_events_inserted',
      ],
    ];
    for (const [name, on, referencing, fn] of triggers) {
      await q.query(`DROP TRIGGER IF EXISTS ${name} ON ${on.split(' ON ')[1]}`);
      await q.query(`CREATE TRIGGER ${name} ${on} ${referencing} FOR EACH STATEMENT EXECUTE FUNCTION ${prefix}${fn}()`);
    }
  }
}

/** The shard fold of StatsRollups for the daily roll-ups (restored by down()). */
const FOLD_DAILY = `
  WITH moved AS (
    DELETE FROM message_stats_daily WHERE day < wa_stats_day(now()) AND shard <> 0
    RETURNING day, session_id, direction, type, status, messages
  )
  INSERT INTO message_stats_daily (day, session_id, direction, type, status, shard, messages)
  SELECT day, session_id, direction, type, status, 0, sum(messages) FROM moved GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (day, session_id, direction, type, status, shard) DO UPDATE SET messages = message_stats_daily.messages + EXCLUDED.messages;
  DELETE FROM message_stats_daily WHERE messages = 0 AND day < wa_stats_day(now());
  WITH moved AS (
    DELETE FROM delivery_latency_daily WHERE day < wa_stats_day(now()) AND shard <> 0
    RETURNING day, session_id, status, seconds, n
  )
  INSERT INTO delivery_latency_daily (day, session_id, status, seconds, shard, n)
  SELECT day, session_id, status, seconds, 0, sum(n) FROM moved GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (day, session_id, status, seconds, shard) DO UPDATE SET n = delivery_latency_daily.n + EXCLUDED.n;`;

const COMPACT_DAILY = `CREATE OR REPLACE FUNCTION wa_stats_compact() RETURNS void LANGUAGE sql AS $$ ${FOLD_DAILY} $$`;

/** Folds the shards of days before today into shard 0, for both granularities (today's rows stay sharded). */
const COMPACT_BOTH = `CREATE OR REPLACE FUNCTION wa_stats_compact() RETURNS void LANGUAGE sql AS $$ ${FOLD_DAILY}
  WITH moved AS (
    DELETE FROM message_stats_hourly WHERE hour < wa_stats_day(now())::timestamp AT TIME ZONE 'UTC' AND shard <> 0
    RETURNING hour, session_id, direction, type, status, messages
  )
  INSERT INTO message_stats_hourly (hour, session_id, direction, type, status, shard, messages)
  SELECT hour, session_id, direction, type, status, 0, sum(messages) FROM moved GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (hour, session_id, direction, type, status, shard) DO UPDATE SET messages = message_stats_hourly.messages + EXCLUDED.messages;
  DELETE FROM message_stats_hourly WHERE messages = 0 AND hour < wa_stats_day(now())::timestamp AT TIME ZONE 'UTC';
  WITH moved AS (
    DELETE FROM delivery_latency_hourly WHERE hour < wa_stats_day(now())::timestamp AT TIME ZONE 'UTC' AND shard <> 0
    RETURNING hour, session_id, status, seconds, n
  )
  INSERT INTO delivery_latency_hourly (hour, session_id, status, seconds, shard, n)
  SELECT hour, session_id, status, seconds, 0, sum(n) FROM moved GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (hour, session_id, status, seconds, shard) DO UPDATE SET n = delivery_latency_hourly.n + EXCLUDED.n;
$$`;
