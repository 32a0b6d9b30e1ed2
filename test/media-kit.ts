import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type request from 'supertest';
import { DataSource } from 'typeorm';
import { SEED_AUTO_REPLIES } from '../migrations/1764201600000-Outbox';
import { AppModule } from '../src/app.module';
import { ApiKeysService } from '../src/auth/api-keys.service';
import { CLOCK, type Clock } from '../src/common/clock';
import { APP_OPTIONS, configureApp } from '../src/configure-app';
import { loadFixture } from './helpers/fixtures';
import { withFreshIds } from './helpers/http';
import { TEST_ENV } from './helpers/test-app';
import { until } from './helpers/until';

// Shared by the media tests (test/media*.e2e-spec.ts, seed s3's media fields): an app with a movable clock, a fake Graph API
// serving media, Meta media webhooks, and a wait on a media item's state.

export const TOKEN = 'graph-test-token';
export const ADMIN = { 'X-API-Key': TEST_ENV.ADMIN_API_KEY };

/** A clock the test moves: real time plus `offset` ms. */
export class TestClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.max(0, ms)));
  }
}

export interface MediaTestApp {
  app: NestExpressApplication;
  db: DataSource;
  clock: TestClock;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * test/helpers/test-app.ts's createTestApp with the CLOCK replaced by a {@link TestClock} (signed URL expiry and
 * retention are asserted by moving it): the real AppModule and configureApp(), migrations, an ephemeral port.
 */
export async function createMediaApp(env: Record<string, string>): Promise<MediaTestApp> {
  const clock = new TestClock();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(CLOCK)
    .useValue(clock)
    .compile()
    .finally(() => {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    });
  const app = moduleRef.createNestApplication<NestExpressApplication>(APP_OPTIONS);
  app.useLogger(['error']);
  await configureApp(app);
  await app.init();
  const db = app.get(DataSource);
  const tables = (
    (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'migrations'`)) as {
      tablename: string;
    }[]
  ).map((t) => t.tablename);
  return {
    app,
    db,
    clock,
    async reset() {
      clock.offset = 0;
      for (let attempt = 1; ; attempt++) {
        try {
          await db.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
          break;
        } catch (e) {
          if ((e as { driverError?: { code?: string } }).driverError?.code !== '40P01' || attempt === 5) throw e;
        }
      }
      await db.query(SEED_AUTO_REPLIES);
      await app.get(ApiKeysService).onApplicationBootstrap();
    },
    close: () => app.close(),
  };
}

/** What the fake Graph API serves for one media id. */
export interface GraphFile {
  bytes: Buffer;
  mime: string;
  /** Overrides the metadata's sha256 (hex of the bytes by default). */
  sha256?: string;
  /** Overrides `file_size` (the byte length by default; null leaves it out). */
  fileSize?: number | null;
  /** The first download URL answers 404, as an expired one does. */
  expireFirst?: boolean;
  /** Bytes without Content-Length (chunked). */
  chunked?: boolean;
  /** The metadata answers 503 this many times first (a temporary failure). */
  failFirst?: number;
  /** The first download sends half the bytes (with the full Content-Length) and then hangs: a download in flight. */
  stallFirst?: boolean;
}

/**
 * Meta's Graph API media endpoints on 127.0.0.1: `GET /v21.0/{media-id}` answers the documented metadata
 * (`{messaging_product, url, mime_type, sha256, file_size, id}`, https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media)
 * or Graph's error object (code 100 for an unknown id, 190 for a wrong token); the `url` serves the bytes to the same
 * bearer token. Also serves plain files at `/plain/{name}` (Wablas links).
 */
export class FakeGraph {
  readonly files = new Map<string, GraphFile>();
  readonly plain = new Map<string, { bytes: Buffer; mime: string; chunked?: boolean }>();
  readonly calls: { path: string; auth?: string }[] = [];
  /** Downloads hanging after half their bytes ({@link GraphFile.stallFirst}); ended by {@link stop}. */
  readonly stalled: ServerResponse[] = [];
  private server?: Server;
  base = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.calls.push({ path: url.pathname + url.search, auth: req.headers.authorization });
      const plain = /^\/plain\/(.+)$/.exec(url.pathname);
      if (plain) {
        const f = this.plain.get(plain[1]);
        if (!f) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': f.mime, ...(f.chunked ? {} : { 'content-length': String(f.bytes.length) }) });
        if (f.chunked) {
          for (let i = 0; i < f.bytes.length; i += 65_536) res.write(f.bytes.subarray(i, i + 65_536));
          return void res.end();
        }
        return void res.end(f.bytes);
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } }));
      }
      const meta = /^\/v21\.0\/([^/]+)$/.exec(url.pathname);
      if (meta) {
        const f = this.files.get(meta[1]);
        res.setHeader('content-type', 'application/json');
        if (!f) {
          res.statusCode = 404;
          return void res.end(
            JSON.stringify({
              error: {
                message: `Unsupported get request. Object with ID '${meta[1]}' does not exist`,
                type: 'GraphMethodException',
                code: 100,
                error_subcode: 33,
              },
            }),
          );
        }
        const n = this.calls.filter((c) => c.path === url.pathname).length;
        if (n <= (f.failFirst ?? 0)) {
          res.statusCode = 503;
          return void res.end(JSON.stringify({ error: { message: 'Service temporarily unavailable', code: 2 } }));
        }
        return void res.end(
          JSON.stringify({
            messaging_product: 'whatsapp',
            url: `${this.base}/dl/${meta[1]}?n=${n}`,
            mime_type: f.mime,
            sha256: f.sha256 ?? createHash('sha256').update(f.bytes).digest('hex'),
            ...(f.fileSize === null ? {} : { file_size: f.fileSize ?? f.bytes.length }),
            id: meta[1],
          }),
        );
      }
      const dl = /^\/dl\/([^/]+)$/.exec(url.pathname);
      const f = dl && this.files.get(dl[1]);
      if (!f) return void res.writeHead(404).end();
      if (f.expireFirst && url.searchParams.get('n') === '1') return void res.writeHead(404).end();
      if (f.stallFirst && this.calls.filter((c) => c.path.startsWith(`/dl/${dl[1]}?`)).length === 1) {
        res.writeHead(200, { 'content-type': f.mime, 'content-length': String(f.bytes.length) });
        res.write(f.bytes.subarray(0, f.bytes.length >> 1), () => this.stalled.push(res));
        return;
      }
      res.writeHead(200, { 'content-type': f.mime, ...(f.chunked ? {} : { 'content-length': String(f.bytes.length) }) });
      if (f.chunked) {
        for (let i = 0; i < f.bytes.length; i += 65_536) res.write(f.bytes.subarray(i, i + 65_536));
        return void res.end();
      }
      res.end(f.bytes);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

/** A JPEG-looking file (SOI + JFIF APP0 marker) of `n` bytes. */
/**
 * A {@link FakeGraph} and a media app that downloads from it: `META_ACCESS_TOKEN` = {@link TOKEN},
 * `META_GRAPH_BASE_URL` = the fake's URL, the media worker on and polling every 20 ms, then `env` (which may
 * override any of them).
 */
export async function createMediaAppWithGraph(env: Record<string, string> = {}): Promise<{ t: MediaTestApp; graph: FakeGraph }> {
  const graph = new FakeGraph();
  const base = await graph.start();
  try {
    const t = await createMediaApp({
      META_ACCESS_TOKEN: TOKEN,
      META_GRAPH_BASE_URL: base,
      MEDIA_WORKER: 'true',
      MEDIA_POLL_MS: '20',
      ...env,
    });
    return { t, graph };
  } catch (e) {
    await graph.stop();
    throw e;
  }
}

export function jpeg(n: number): Buffer {
  const head = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
  return Buffer.concat([head, randomBytes(Math.max(0, n - head.length))]);
}

type MetaBody = { entry: { changes: { value: { messages: Record<string, any>[] } }[] }[] };

/** Meta's image (or document) webhook fixture with a fresh wamid and media id `mediaId`. */
export function metaMedia(kind: 'image' | 'document', mediaId: string, suffix: string): { body: MetaBody; wamid: string } {
  const body = withFreshIds(loadFixture<MetaBody>(`meta/inbound/${kind}.json`), suffix);
  const m = body.entry[0].changes[0].value.messages[0];
  m[kind].id = mediaId;
  return { body, wamid: m.id as string };
}

type MediaState = { id: string; message_id: string; state: string; error_code: string | null; error: string | null };

/** Waits until the media of message `wamid` leaves `pending` (or reaches `state`). */
export async function settled(db: DataSource, wamid: string, state?: string): Promise<MediaState> {
  return until(`media of ${wamid}`, async () => {
    const [row] = (await db.query(
      `SELECT md.id, md.message_id::text, md.state, md.error_code, md.error FROM media md JOIN messages m ON m.id = md.message_id
       WHERE m.external_id = $1`,
      [wamid],
    )) as MediaState[];
    if (!row) return undefined;
    if (state ? row.state === state : row.state !== 'pending') return row;
    return undefined;
  });
}

/** Binary bodies for supertest. */
export const binary = (res: request.Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};
