import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The provider corpus the tests use, copied into the repo (test/fixtures/providers, with its MANIFEST.md of public
 * sources) so a fresh clone tests itself; FIXTURES_DIR points elsewhere to try a newer corpus.
 */
export const FIXTURES_DIR = process.env.FIXTURES_DIR ?? resolve(__dirname, '../fixtures/providers');

export interface FixtureEntry {
  id: string;
  file: string;
  provider: 'meta' | 'wablas' | 'wwebjs' | 'baileys';
  direction: string;
  kind: string;
  replay: boolean;
  contentType?: string;
  expect: string;
}

const index = JSON.parse(readFileSync(join(FIXTURES_DIR, 'index.json'), 'utf8')) as { fixtures: FixtureEntry[] };

/** Fixtures of a provider that the provider POSTs to us (direction inbound, replayable). */
export function inboundFixtures(provider: FixtureEntry['provider']): FixtureEntry[] {
  return index.fixtures.filter((f) => f.provider === provider && f.direction === 'inbound' && f.replay);
}

/** A fixture's JSON body. */
export function loadFixture<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, file), 'utf8')) as T;
}
