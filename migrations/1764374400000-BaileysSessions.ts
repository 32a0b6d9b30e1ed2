import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Baileys sessions run in-process, so their WhatsApp auth state lives in PostgreSQL (never in files) and at most one
 * process runs a session at a time:
 *
 * - `baileys_sessions`: one row per Baileys session (`sessions.id`).
 *   - `wanted`: the session should run (start = true, stop = false); a periodic claimer starts wanted sessions.
 *   - `lease_owner`, `lease_until`: which process runs it, until when (database clock); NULL owner = free.
 *   - `lease_token`: fencing token, incremented on every acquisition by a different owner (and after a release), so
 *     a process that lost the lease (paused, partitioned) cannot write with its old token: every auth-state write
 *     checks owner + token + `lease_until > now()` under a row lock (src/providers/baileys/baileys-auth.repository.ts).
 *   - `creds`: Baileys `AuthenticationCreds` serialised with `BufferJSON.replacer` (Buffers as
 *     `{"type":"Buffer","data":"<base64>"}`); NULL = not linked yet / logged out.
 * - `baileys_keys`: the Signal key store, one row per (session, key type, key id); `value` is the BufferJSON form of
 *   Baileys' `SignalDataTypeMap[type]`. Types used by rc14: pre-key, session, sender-key, sender-key-memory,
 *   app-state-sync-key, app-state-sync-version, lid-mapping, device-list, tctoken, identity-key. A deleted key is a
 *   deleted row.
 *
 * Both cascade with their session.
 */
export class BaileysSessions1764374400000 implements MigrationInterface {
  name = 'BaileysSessions1764374400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE baileys_sessions (
        session_id uuid PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        wanted boolean NOT NULL DEFAULT true,
        lease_owner varchar(64),
        lease_token bigint NOT NULL DEFAULT 0,
        lease_until timestamptz,
        creds jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The claimer scans wanted sessions by lease expiry; small table, but keep the scan off the creds blobs.
    await q.query(`CREATE INDEX ix_baileys_sessions_claim ON baileys_sessions (lease_until) WHERE wanted`);
    await q.query(`
      CREATE TABLE baileys_keys (
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        type varchar(32) NOT NULL,
        id text NOT NULL,
        value jsonb NOT NULL,
        PRIMARY KEY (session_id, type, id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS baileys_keys`);
    await q.query(`DROP TABLE IF EXISTS baileys_sessions`);
  }
}
