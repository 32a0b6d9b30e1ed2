import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Where the PL/pgSQL sources live: src/database/sql (copied beside the compiled file by nest-cli.json assets). */
export const SQL_DIR = join(__dirname, 'sql');

/** One `CREATE OR REPLACE FUNCTION` source file. */
export interface SqlSource {
  /** File name, e.g. `ingest-batch.sql`. */
  name: string;
  sql: string;
}

/** The source files, in name order. @throws Error when the directory is missing (a build without the assets). */
export function readSqlSources(dir = SQL_DIR): SqlSource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(dir, name), 'utf8') }));
}

/**
 * A migration that (re)creates every function of src/database/sql, named after the sources' combined SHA-256 so
 * that TypeORM sees it as pending exactly when a source changed (and on a new database). Listed last among the
 * migrations: its timestamp (the last 13 digits of its name) is above every real migration's, so the tables it
 * needs exist first. `CREATE OR REPLACE` keeps dependent triggers and grants. Functions are never dropped here: a
 * migration that changes a signature drops the old one.
 */
export function sqlSourcesMigration(sources: SqlSource[] = readSqlSources()): new () => MigrationInterface {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(s.name).update('\0').update(s.sql).update('\0');
  const digits = (BigInt(`0x${hash.digest('hex').slice(0, 15)}`) % 1_000_000_000_000n).toString().padStart(12, '0');
  const name = `SqlSources9${digits}`;
  return class implements MigrationInterface {
    name = name;
    async up(q: QueryRunner): Promise<void> {
      for (const s of sources) await q.query(s.sql);
    }
    async down(): Promise<void> {
      // Functions stay: the migrations before this one created them, and reverting those drops them.
    }
  };
}
