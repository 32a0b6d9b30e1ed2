import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One built file, held in memory with its gzip form (the console's build is a few hundred KB). */
export interface ConsoleFile {
  body: Buffer;
  gzip: Buffer | null;
  contentType: string;
  etag: string;
  /** Hashed file names under `assets/` never change: cached for a year; everything else is revalidated. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.json', '.webmanifest', '.txt']);

/**
 * Where `vite build --config console/vite.config.mts` writes the console: `dist/console`, found from this file in
 * the compiled tree (`dist/src/console/`) and in the sources (`src/console/`, tests) alike.
 */
export function defaultConsoleDir(): string {
  const root = resolve(__dirname, '..', '..');
  return join(basename(root) === 'dist' ? root : join(root, 'dist'), 'console');
}

/**
 * The built console (`dist/console`: `index.html`, `assets/*`, files from `console/public`), read from disk on
 * first use and kept in memory. A build that is missing is looked for again on the next request, so a server
 * started before `vite build` finished serves the console once it exists.
 */
export class ConsoleAssets {
  private files: Map<string, ConsoleFile> | null = null;

  constructor(private readonly dir: string = defaultConsoleDir()) {}

  /** The built file at `path` (relative, `/`-separated, e.g. `assets/index-abc.js`), or undefined. */
  file(path: string): ConsoleFile | undefined {
    return this.load()?.get(path);
  }

  /** Whether `index.html` has been built. */
  built(): boolean {
    return this.file('index.html') !== undefined;
  }

  private load(): Map<string, ConsoleFile> | null {
    if (this.files) return this.files;
    try {
      if (!statSync(join(this.dir, 'index.html')).isFile()) return null;
    } catch {
      return null;
    }
    const files = new Map<string, ConsoleFile>();
    for (const full of walk(this.dir)) {
      const ext = extname(full).toLowerCase();
      const body = readFileSync(full);
      const path = relative(this.dir, full).split(sep).join('/');
      files.set(path, {
        body,
        gzip: COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body, { level: 9 }) : null,
        contentType: TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: path.startsWith('assets/'),
      });
    }
    this.files = files;
    return files;
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}
