import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Daily roll-ups behind `GET /v1/stats` (issue 4: under 100 ms at a million messages, whatever the window).
 *
 * Why maintained counters and not indexes: every figure of the stats response is a count or a median over all
 * messages of a window; with an index PostgreSQL still visits each message of the window (82,000 rows for 30 days
 * in `npm run bench:read`, 600 ms with the medians' join), and all of them for the overall totals. The roll-ups hold
 * one row per UTC day × session × direction × type × status (and per day × session × delivered/read × latency
 * second), so a 30-day window reads about a thousand rows however busy the days were.
 *
 * Kept exact by statement-level triggers with transition tables, so every writer (webhook ingest, the outbox,
 * an operator's SQL, cascading deletes) maintains them, once per statement and set-based, not once per row:
 * - messages TRUNCATE: roll-ups emptied (status events TRUNCATE: latencies emptied);
 * - messages INSERT / DELETE: ±1 at (day, session, direction, type, status);
 * - messages UPDATE: a status change moves the count from the old status to the new one;
 * - delivery latency (whole seconds from the message's provider timestamp to its `delivered`/`read` status event)
 *   is counted exactly once per status event: when the event is inserted if its message exists, else when the
 *   message is inserted. (An event and its message written by two concurrent transactions do not see each other
 *   and that latency is not counted; message counts are exact regardless.)
 *
 * Concurrent ingest batches would all update the same "today" rows and wait on each other's row locks until
 * commit; each transaction therefore writes to one of 8 shards (its transaction id modulo 8) and readers sum the
 * shards. `wa_stats_compact()` (run by the app every few minutes) folds the shards of past days into shard 0.
 */
export class StatsRollups1764115200000 implements MigrationInterface {
  name = 'StatsRollups1764115200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE message_stats_daily (
        day date NOT NULL,
        session_id uuid NOT NULL,
        direction varchar(3) NOT NULL,
        type varchar(32) NOT NULL,
        status varchar(16) NOT NULL,
        shard smallint NOT NULL,
        messages bigint NOT NULL,
        PRIMARY KEY (day, session_id, direction, type, status, shard)
      )`);
    await q.query(`
      CREATE TABLE delivery_latency_daily (
        day date NOT NULL,
        session_id uuid NOT NULL,
        status varchar(16) NOT NULL,
        seconds integer NOT NULL,
        shard smallint NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (day, session_id, status, seconds, shard)
      )`);
    await q.query(`
      CREATE FUNCTION wa_stats_day(at timestamptz) RETURNS date
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (at AT TIME ZONE 'UTC')::date $$`);
    // Upserts in key order: two transactions on the same shard lock rows in the same order.
    await q.query(`
      CREATE FUNCTION wa_stats_add_messages(d jsonb) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO message_stats_daily (day, session_id, direction, type, status, shard, messages)
        SELECT x.day, x.session_id, x.direction, x.type, x.status, (txid_current() % 8)::smallint, sum(x.n)
        FROM jsonb_to_recordset(d) AS x(day date, session_id uuid, direction text, type text, status text, n bigint)
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(x.n) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (day, session_id, direction, type, status, shard)
          DO UPDATE SET messages = message_stats_daily.messages + EXCLUDED.messages
      $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_add_latency(d jsonb) RETURNS void
      LANGUAGE sql AS $$
        INSERT INTO delivery_latency_daily (day, session_id, status, seconds, shard, n)
        SELECT x.day, x.session_id, x.status, x.seconds, (txid_current() % 8)::smallint, sum(x.n)
        FROM jsonb_to_recordset(d) AS x(day date, session_id uuid, status text, seconds int, n bigint)
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, session_id, status, seconds, shard) DO UPDATE SET n = delivery_latency_daily.n + EXCLUDED.n
      $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_messages_inserted() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_messages(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_day(provider_timestamp) AS day, session_id, direction, type, status, count(*) AS n
              FROM new_rows GROUP BY 1, 2, 3, 4, 5) a HAVING count(*) > 0;
        PERFORM wa_stats_add_latency(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_day(m.provider_timestamp) AS day, m.session_id, e.status,
                round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int AS seconds, count(*) AS n
              FROM new_rows m JOIN message_status_events e ON e.session_id = m.session_id AND e.external_id = m.external_id
              WHERE m.direction = 'out' AND m.external_id IS NOT NULL AND e.status IN ('delivered', 'read')
              GROUP BY 1, 2, 3, 4) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_messages_deleted() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_messages(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_day(provider_timestamp) AS day, session_id, direction, type, status, -count(*) AS n
              FROM old_rows GROUP BY 1, 2, 3, 4, 5) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_messages_updated() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_messages(jsonb_agg(to_jsonb(a)))
        FROM (
          SELECT wa_stats_day(c.provider_timestamp) AS day, c.session_id, c.direction, c.type, c.status, sum(c.n) AS n
          FROM (
            SELECT o.provider_timestamp, o.session_id, o.direction, o.type, o.status, -1 AS n
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.status, o.type, o.direction, o.session_id, wa_stats_day(o.provider_timestamp))
              IS DISTINCT FROM (n.status, n.type, n.direction, n.session_id, wa_stats_day(n.provider_timestamp))
            UNION ALL
            SELECT n.provider_timestamp, n.session_id, n.direction, n.type, n.status, 1
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.status, o.type, o.direction, o.session_id, wa_stats_day(o.provider_timestamp))
              IS DISTINCT FROM (n.status, n.type, n.direction, n.session_id, wa_stats_day(n.provider_timestamp))
          ) c GROUP BY 1, 2, 3, 4, 5
        ) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION wa_stats_status_events_inserted() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM wa_stats_add_latency(jsonb_agg(to_jsonb(a)))
        FROM (SELECT wa_stats_day(m.provider_timestamp) AS day, m.session_id, e.status,
                round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int AS seconds, count(*) AS n
              FROM new_rows e JOIN messages m ON m.session_id = e.session_id AND m.external_id = e.external_id
              WHERE m.direction = 'out' AND e.status IN ('delivered', 'read')
              GROUP BY 1, 2, 3, 4) a HAVING count(*) > 0;
        RETURN NULL;
      END $$`);
    // TRUNCATE fires no row or DELETE triggers: emptied messages (or status events) empty their roll-ups.
    await q.query(`
      CREATE FUNCTION wa_stats_truncated() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_TABLE_NAME = 'messages' THEN DELETE FROM message_stats_daily; END IF;
        DELETE FROM delivery_latency_daily; -- not TRUNCATE: it may be in the statement that fired this
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER wa_stats_messages_trunc AFTER TRUNCATE ON messages FOR EACH STATEMENT EXECUTE FUNCTION wa_stats_truncated()`,
    );
    await q.query(
      `CREATE TRIGGER wa_stats_status_events_trunc AFTER TRUNCATE ON message_status_events FOR EACH STATEMENT EXECUTE FUNCTION wa_stats_truncated()`,
    );
    await q.query(
      `CREATE TRIGGER wa_stats_messages_ins AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wa_stats_messages_inserted()`,
    );
    await q.query(
      `CREATE TRIGGER wa_stats_messages_del AFTER DELETE ON messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION wa_stats_messages_deleted()`,
    );
    await q.query(
      `CREATE TRIGGER wa_stats_messages_upd AFTER UPDATE ON messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wa_stats_messages_updated()`,
    );
    await q.query(
      `CREATE TRIGGER wa_stats_status_events_ins AFTER INSERT ON message_status_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wa_stats_status_events_inserted()`,
    );
    // Folds the shards of days before today into shard 0 (today's rows stay sharded: they are the hot ones).
    await q.query(`
      CREATE FUNCTION wa_stats_compact() RETURNS void
      LANGUAGE sql AS $$
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
        ON CONFLICT (day, session_id, status, seconds, shard) DO UPDATE SET n = delivery_latency_daily.n + EXCLUDED.n;
      $$`);
    // Existing data: counted once, into shard 0.
    await q.query(`
      INSERT INTO message_stats_daily (day, session_id, direction, type, status, shard, messages)
      SELECT wa_stats_day(provider_timestamp), session_id, direction, type, status, 0, count(*) FROM messages GROUP BY 1, 2, 3, 4, 5`);
    await q.query(`
      INSERT INTO delivery_latency_daily (day, session_id, status, seconds, shard, n)
      SELECT wa_stats_day(m.provider_timestamp), m.session_id, e.status, round(extract(epoch FROM e.occurred_at - m.provider_timestamp))::int, 0, count(*)
      FROM messages m JOIN message_status_events e ON e.session_id = m.session_id AND e.external_id = m.external_id
      WHERE m.direction = 'out' AND e.status IN ('delivered', 'read') GROUP BY 1, 2, 3, 4`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS wa_stats_status_events_trunc ON message_status_events`);
    await q.query(`DROP TRIGGER IF EXISTS wa_stats_messages_trunc ON messages`);
    await q.query(`DROP TRIGGER IF EXISTS wa_stats_status_events_ins ON message_status_events`);
    await q.query(`DROP TRIGGER IF EXISTS wa_stats_messages_upd ON messages`);
    await q.query(`DROP TRIGGER IF EXISTS wa_stats_messages_del ON messages`);
    await q.query(`DROP TRIGGER IF EXISTS wa_stats_messages_ins ON messages`);
    await q.query(
      `DROP FUNCTION IF EXISTS wa_stats_compact(), wa_stats_truncated(), wa_stats_status_events_inserted(), wa_stats_messages_updated(), wa_stats_messages_deleted(), wa_stats_messages_inserted(), wa_stats_add_latency(jsonb), wa_stats_add_messages(jsonb), wa_stats_day(timestamptz)`,
    );
    await q.query(`DROP TABLE IF EXISTS delivery_latency_daily, message_stats_daily`);
  }
}
