import { MigrationInterface, QueryRunner } from 'typeorm';

/** Admin actions (keys created or revoked, sessions changed, ...) with the key that did them. */
export class AuditLog1763942400000 implements MigrationInterface {
  name = 'AuditLog1763942400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_key_id uuid,
        actor_key_prefix varchar(16),
        action varchar(64) NOT NULL,
        target_type varchar(32),
        target_id varchar(128),
        details jsonb,
        request_id varchar(128),
        ip varchar(64)
      )`);
    await q.query(`CREATE INDEX ix_audit_log_recent ON audit_log (at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS audit_log`);
  }
}
