import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Contacts for admins (email, tags, notes, external reference, `@lid` alias) and accent/case-insensitive search
 * over message text and captions: a trigram GIN index on the folded text, so `q=` never scans the table.
 * Extensions live in `public` (they are per database), which is on every connection's search_path.
 */
export class ContactsAndSearch1764028800000 implements MigrationInterface {
  name = 'ContactsAndSearch1764028800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE contacts
        ADD COLUMN email varchar(254),
        ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
        ADD COLUMN notes text,
        ADD COLUMN external_ref varchar(128),
        ADD COLUMN lid varchar(64)`);
    await q.query(`CREATE UNIQUE INDEX uq_contacts_lid ON contacts (lid) WHERE lid IS NOT NULL`);
    await q.query(`CREATE INDEX ix_contacts_name ON contacts (lower(name))`);
    await q.query(`CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public`);
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`);
    // unaccent() is only STABLE (its dictionary could change); pinning the dictionary makes this IMMUTABLE, which
    // an index expression needs.
    await q.query(`
      CREATE FUNCTION wa_fold(t text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
        SELECT lower(public.unaccent('public.unaccent'::regdictionary, t))
      $$`);
    await q.query(
      `CREATE INDEX ix_messages_search ON messages USING gin (wa_fold(coalesce(text, '') || ' ' || coalesce(caption, '')) public.gin_trgm_ops)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS ix_messages_search`);
    await q.query(`DROP FUNCTION IF EXISTS wa_fold(text)`);
    await q.query(`DROP INDEX IF EXISTS ix_contacts_name`);
    await q.query(`DROP INDEX IF EXISTS uq_contacts_lid`);
    await q.query(`ALTER TABLE contacts DROP COLUMN email, DROP COLUMN tags, DROP COLUMN notes, DROP COLUMN external_ref, DROP COLUMN lid`);
  }
}
