import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A default owner (seed s4's `userId`) per provider (src/sessions/session-defaults.*): a session of that provider
 * without a `user_id` of its own is owned by it wherever sessions are read (`GET /v1/sessions?userId=`, seed s4's
 * lists, the session DTO's `userId` / `userIdSource`). Resolved at read time: ingest never copies it into
 * `sessions.user_id`, so changing or clearing the default applies to every such session at once.
 * One row per provider (a handful): no index beyond the key.
 */
export class SessionDefaultOwners1764979200000 implements MigrationInterface {
  name = 'SessionDefaultOwners1764979200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE session_default_owners (
         provider text PRIMARY KEY,
         user_id text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS session_default_owners`);
  }
}
