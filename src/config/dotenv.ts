import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Every environment variable some wa-hub module reads (each config class registers its own). */
const KNOWN = new Set<string>();

/** Prefixes of wa-hub's variables: an unknown variable with one of these is probably a misspelling. */
const OUR_PREFIXES = [
  'WAHUB_',
  'META_',
  'WABLAS_',
  'WWEBJS_',
  'BAILEYS_',
  'WEBHOOK_',
  'MEDIA_',
  'OUTBOX_',
  'SEND_',
  'INGEST_',
  'EVENT_',
  'RATE_LIMIT_',
  'AUTH_',
  'LOG_',
  'DB_',
  'DATABASE_',
  'ADMIN_',
  'METRICS_',
  'SHUTDOWN_',
  'CORS_',
  'BODY_',
  'DEFAULT_',
  'TRUST_',
  'S3_',
  'CONSOLE_',
  'STATS_',
  'CONTACTS_',
  'SESSION_',
];

/** Registers the names of the variables a module reads, for {@link unknownVariableWarnings}. */
export function registerEnvNames(names: Iterable<string>): void {
  for (const n of names) KNOWN.add(n);
}

/**
 * Reads `.env` from the working directory (or `ENV_FILE`) into `process.env` when it exists, without overriding
 * variables already set (Node's own `process.loadEnvFile`, dotenv syntax). Call before the configuration loads.
 * @returns warnings to log once the logger exists: the file read, and unknown variables that look like ours.
 */
export function loadDotEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const warnings: string[] = [];
  const path = resolve(env.ENV_FILE ?? '.env');
  if (existsSync(path)) {
    const before = { ...env };
    process.loadEnvFile(path);
    // loadEnvFile does not override what was already set; make sure of it for any Node version.
    for (const [k, v] of Object.entries(before)) env[k] = v;
    warnings.push(`read variables from ${path} (set ones keep their values)`);
  } else if (env.ENV_FILE) {
    warnings.push(`ENV_FILE ${path} does not exist; using the environment only`);
  }
  return [...warnings, ...unknownVariableWarnings(env)];
}

/** A warning per set variable that has one of our prefixes but is not a name any module reads, with the nearest known name. */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (KNOWN.has(name) || name === 'ENV_FILE' || !OUR_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (name.startsWith('WAHUB_TEST_')) continue; // the test suite's own
    const nearest = closest(name, [...KNOWN]);
    warnings.push(`unknown variable ${name} is ignored${nearest ? `; did you mean ${nearest}?` : ''}`);
  }
  return warnings;
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(3, Math.floor(name.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
