import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MediaFetchError } from '../src/domain/media-fetcher';
import { GuardedMediaHttp } from '../src/media/media-http';
import { MediaRepository } from '../src/media/media.repository';
import { loadFixture } from './helpers/fixtures';
import { postMeta, postWablas, postWwebjsNative } from './helpers/http';
import { until } from './helpers/until';
import { ADMIN, binary, createMediaAppWithGraph, FakeGraph, jpeg, type MediaTestApp, metaMedia, settled, TOKEN } from './media-kit';

const MAX = 1024 * 1024;

describe('media: download, store, serve (e2e)', () => {
  let t: MediaTestApp;
  let graph: FakeGraph;
  const http = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    ({ t, graph } = await createMediaAppWithGraph({
      META_API_VERSION: 'v21.0',
      MEDIA_RETRY_BASE_SECONDS: '0.05',
      MEDIA_MAX_BYTES: String(MAX),
      MEDIA_ALLOW_HTTP: 'true',
      MEDIA_ALLOW_PRIVATE: 'true',
      MEDIA_URL_TTL_SECONDS: '600',
      MEDIA_RETENTION_DAYS: '30',
    }));
  });
  beforeEach(async () => {
    await t.reset();
    graph.files.clear();
    graph.calls.length = 0;
  });
  afterAll(async () => {
    await t?.close();
    await graph?.stop();
  });

  it('Meta image: webhook → job → Graph metadata + bytes with the bearer token → stored, served with headers and ranges', async () => {
    const bytes = jpeg(300_000);
    graph.files.set('m-img-1', { bytes, mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 'm-img-1', 'img1');
    expect((await postMeta(t.app, body)).status).toBe(200);
    const row = await settled(t.db, wamid);
    expect(row).toMatchObject({ state: 'stored', error: null });
    expect(graph.calls.map((c) => c.path.replace(/\?.*/, ''))).toEqual(['/v21.0/m-img-1', '/dl/m-img-1']);
    expect(graph.calls.every((c) => c.auth === `Bearer ${TOKEN}`)).toBe(true);

    const sha = createHash('sha256').update(bytes).digest('hex');
    const msg = await http().get(`/v1/messages/${row.message_id}`).set(ADMIN);
    expect(msg.body.media).toMatchObject({
      id: row.id,
      providerId: 'm-img-1',
      state: 'stored',
      mimeType: 'image/jpeg',
      size: bytes.length,
      sha256: sha,
      caption: 'Taj Mahal',
      error: null,
    });
    const listed = await http().get('/v1/messages?type=image').set(ADMIN);
    expect(listed.body.data[0].media).toMatchObject({ id: row.id, state: 'stored', sha256: sha });

    const full = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN).buffer(true).parse(binary);
    expect(full.status).toBe(200);
    expect(Buffer.compare(full.body as Buffer, bytes)).toBe(0);
    expect(full.headers).toMatchObject({
      'content-type': 'image/jpeg',
      'content-length': String(bytes.length),
      etag: `"${sha}"`,
      'accept-ranges': 'bytes',
      'content-disposition': 'inline',
    });

    // Ranges across chunk boundaries (the postgres driver stores 256 KiB rows).
    const mid = await http()
      .get(`/v1/messages/${row.message_id}/media`)
      .set(ADMIN)
      .set('Range', 'bytes=262000-262999')
      .buffer(true)
      .parse(binary);
    expect(mid.status).toBe(206);
    expect(mid.headers['content-range']).toBe(`bytes 262000-262999/${bytes.length}`);
    expect(mid.headers['content-length']).toBe('1000');
    expect(Buffer.compare(mid.body as Buffer, bytes.subarray(262000, 263000))).toBe(0);
    const tail = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN).set('Range', 'bytes=-10').buffer(true).parse(binary);
    expect(tail.status).toBe(206);
    expect(Buffer.compare(tail.body as Buffer, bytes.subarray(bytes.length - 10))).toBe(0);
    const open = await http()
      .get(`/v1/messages/${row.message_id}/media`)
      .set(ADMIN)
      .set('Range', 'bytes=299990-')
      .buffer(true)
      .parse(binary);
    expect(open.status).toBe(206);
    expect((open.body as Buffer).length).toBe(10);
    const bad = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN).set('Range', `bytes=${bytes.length}-`);
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe(`bytes */${bytes.length}`);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const cached = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN).set('If-None-Match', `"${sha}"`);
    expect(cached.status).toBe(304);

    // A key is needed; a message without a file, an unknown message: 404.
    expect((await http().get(`/v1/messages/${row.message_id}/media`)).status).toBe(401);
    expect((await http().get(`/v1/messages/999999/media`).set(ADMIN)).status).toBe(404);
  });

  it('document: filename kept, served as an attachment', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n'), randomBytes(2000)]);
    graph.files.set('m-doc-1', { bytes: pdf, mime: 'application/pdf' });
    const { body, wamid } = metaMedia('document', 'm-doc-1', 'doc1');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    expect(row.state).toBe('stored');
    const res = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN).buffer(true).parse(binary);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="filename.pdf"; filename*=UTF-8''filename.pdf`);
    const msg = await http().get(`/v1/messages/${row.message_id}`).set(ADMIN);
    expect(msg.body.media).toMatchObject({ filename: 'filename.pdf', mimeType: 'application/pdf', caption: 'caption' });
  });

  it('a sha256 that does not match the bytes → failed with the reason; nothing served', async () => {
    graph.files.set('m-bad-sha', { bytes: jpeg(5000), mime: 'image/jpeg', sha256: 'ab'.repeat(32) });
    const { body, wamid } = metaMedia('image', 'm-bad-sha', 'sha');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    expect(row).toMatchObject({ state: 'failed', error_code: 'SHA256_MISMATCH' });
    expect(row.error).toContain(`declared ${'ab'.repeat(32)}`);
    const res = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN);
    expect(res.status).toBe(409);
    expect(res.body.error.details).toMatchObject({ state: 'failed', code: 'SHA256_MISMATCH' });
    const msg = await http().get(`/v1/messages/${row.message_id}`).set(ADMIN);
    expect(msg.body.media).toMatchObject({ state: 'failed', errorCode: 'SHA256_MISMATCH' });
    expect(msg.body.media.error).toContain('SHA-256');
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM media_chunks`))[0].n)).toBe(0);
  });

  it('an expired download URL is fetched again from the metadata', async () => {
    const bytes = jpeg(4000);
    graph.files.set('m-exp', { bytes, mime: 'image/jpeg', expireFirst: true });
    const { body, wamid } = metaMedia('image', 'm-exp', 'exp');
    await postMeta(t.app, body);
    expect((await settled(t.db, wamid)).state).toBe('stored');
    expect(graph.calls.map((c) => c.path)).toEqual(['/v21.0/m-exp', '/dl/m-exp?n=1', '/v21.0/m-exp', '/dl/m-exp?n=2']);
  });

  it('an unknown media id (Graph 404, code 100) → failed at once', async () => {
    const { body, wamid } = metaMedia('image', 'm-gone', 'gone');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    expect(row).toMatchObject({ state: 'failed', error_code: 'META_100' });
    expect(row.error).toContain('does not exist');
    expect(graph.calls).toHaveLength(1);
  });

  it('too large: a declared size over MEDIA_MAX_BYTES fails before reading; an undeclared one is cut at the limit', async () => {
    graph.files.set('m-big-declared', { bytes: jpeg(1000), mime: 'image/jpeg', fileSize: MAX + 1 });
    graph.files.set('m-big-stream', { bytes: jpeg(MAX + 100_000), mime: 'image/jpeg', fileSize: null, chunked: true });
    const a = metaMedia('image', 'm-big-declared', 'big1');
    const b = metaMedia('image', 'm-big-stream', 'big2');
    await postMeta(t.app, a.body);
    await postMeta(t.app, b.body);
    expect(await settled(t.db, a.wamid)).toMatchObject({ state: 'failed', error_code: 'TOO_LARGE' });
    expect(await settled(t.db, b.wamid)).toMatchObject({ state: 'failed', error_code: 'TOO_LARGE' });
    expect(graph.calls.some((c) => c.path.startsWith('/dl/m-big-declared'))).toBe(false);
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM media_chunks`))[0].n)).toBe(0);
  });

  it('a temporary failure (Graph 503) is retried with backoff until it succeeds', async () => {
    graph.files.set('m-flaky', { bytes: jpeg(3000), mime: 'image/jpeg', failFirst: 2 });
    const { body, wamid } = metaMedia('image', 'm-flaky', 'flaky');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid, 'stored');
    const [{ attempts }] = await t.db.query(`SELECT attempts FROM media WHERE id = $1`, [row.id]);
    expect(attempts).toBe(3);
    expect(graph.calls.filter((c) => c.path === '/v21.0/m-flaky')).toHaveLength(3);
  });

  it('POST .../media/retry re-queues a failed download', async () => {
    // No file yet: Graph 404 → failed; once the file exists the retry route stores it.
    const { body, wamid } = metaMedia('image', 'm-later', 'later');
    await postMeta(t.app, body);
    const failed = await settled(t.db, wamid);
    expect(failed.state).toBe('failed');
    graph.files.set('m-later', { bytes: jpeg(3000), mime: 'image/jpeg' });
    const retry = await http().post(`/v1/messages/${failed.message_id}/media/retry`).set(ADMIN);
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ id: failed.id, attempts: 0 });
    expect((await settled(t.db, wamid, 'stored')).state).toBe('stored');
    expect((await http().post(`/v1/messages/${failed.message_id}/media/retry`).set(ADMIN)).status).toBe(409);
  });

  it('wwebjs: the base64 of its media webhook is moved into the store (either order), type sniffed', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII=', 'base64');
    await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/message_image.json'));
    const externalId = 'false_6281288888888@c.us_C0FFEE00112233445566778899AABBCC';
    // The message came first: it waits for the bytes (temporary NOT_DELIVERED), their arrival makes it due at once.
    await until('a first attempt', async () => ((await t.db.query(`SELECT attempts FROM media`))[0]?.attempts > 0 ? true : undefined));
    await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/media.json'));
    const row = await settled(t.db, externalId, 'stored');
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM message_media`))[0].n)).toBe(0);
    const res = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN).buffer(true).parse(binary);
    expect(Buffer.compare(res.body as Buffer, png)).toBe(0);
    // Declared image/jpeg, the bytes are a PNG: the sniffed type is served, the declared one kept.
    expect(res.headers['content-type']).toBe('image/png');
    const msg = await http().get(`/v1/messages/${row.message_id}`).set(ADMIN);
    expect(msg.body.media).toMatchObject({ mimeType: 'image/png', declaredMimeType: 'image/jpeg', size: png.length, state: 'stored' });

    // Bytes before the message.
    await t.reset();
    await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/media.json'));
    await postWwebjsNative(t.app, loadFixture('wwebjs/inbound/message_image.json'));
    expect((await settled(t.db, externalId)).state).toBe('stored');
  });

  it('Wablas: the webhook url is downloaded (through the guard, private addresses allowed here)', async () => {
    const bytes = jpeg(2000);
    graph.plain.set('20220315081917.jpeg', { bytes, mime: 'image/jpeg' });
    const fixture = loadFixture<Record<string, unknown>>('wablas/inbound/image.json');
    await postWablas(t.app, { ...fixture, url: `${graph.base}/plain/20220315081917.jpeg` });
    const row = await settled(t.db, fixture.id as string);
    expect(row.state).toBe('stored');
    const msg = await http().get(`/v1/messages/${row.message_id}`).set(ADMIN);
    expect(msg.body.media).toMatchObject({ filename: '20220315081917.jpeg', size: 2000, mimeType: 'image/jpeg' });
  });

  it('the guard refuses loopback and plain-http links unless allowed', async () => {
    const signal = new AbortController().signal;
    const strict = new GuardedMediaHttp({ allowHttp: true, allowPrivate: false, signal, timeoutMs: 1000 });
    await expect(strict.get(`${graph.base}/plain/x`, { untrusted: true })).rejects.toMatchObject({ code: 'URL_REFUSED' });
    await expect(strict.get('http://localhost:9/x', { untrusted: true })).rejects.toBeInstanceOf(MediaFetchError);
    const https = new GuardedMediaHttp({ allowHttp: false, allowPrivate: true, signal, timeoutMs: 1000 });
    await expect(https.get(`${graph.base}/plain/x`, { untrusted: true })).rejects.toMatchObject({ code: 'URL_REFUSED' });
    // Trusted URLs (the configured Graph base) are not guarded.
    const res = await strict.get(`${graph.base}/plain/missing`);
    res.body.resume();
    expect(res.status).toBe(404);
  });

  it('signed URL: works without a header, refuses a tampered signature, expires on the clock', async () => {
    const bytes = jpeg(1500);
    graph.files.set('m-signed', { bytes, mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 'm-signed', 'signed');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    const signed = await http().get(`/v1/messages/${row.message_id}/media-url`).set(ADMIN);
    expect(signed.status).toBe(200);
    const url = new URL(signed.body.url);
    expect(url.pathname).toBe(`/v1/media/${row.id}/content`);
    expect(new Date(signed.body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 590_000);
    const path = url.pathname + url.search;
    const ok = await http().get(path).buffer(true).parse(binary);
    expect(ok.status).toBe(200);
    expect(Buffer.compare(ok.body as Buffer, bytes)).toBe(0);
    const ranged = await http().get(path).set('Range', 'bytes=0-1').buffer(true).parse(binary);
    expect(ranged.status).toBe(206);
    const sig = url.searchParams.get('signature')!;
    const tampered = path.replace(sig, `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
    expect((await http().get(tampered)).status).toBe(403);
    const later = path.replace(/expires=\d+/, (m) => `expires=${Number(m.slice(8)) + 1000}`);
    expect((await http().get(later)).status).toBe(403);
    expect((await http().get(`/v1/media/${row.id}/content`)).status).toBe(403);
    t.clock.offset = 601_000;
    const expired = await http().get(path);
    expect(expired.status).toBe(403);
    expect(expired.body.error.message).toContain('expired');
  });

  it('retention: stored files older than MEDIA_RETENTION_DAYS are deleted (bytes gone, state deleted)', async () => {
    graph.files.set('m-old', { bytes: jpeg(300_000), mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 'm-old', 'old');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM media_chunks`))[0].n)).toBe(2);
    const expire = vi.spyOn(t.app.get(MediaRepository), 'expire');
    t.clock.offset = 29 * 86_400_000;
    // A retention pass on the moved clock has run (waited for, not slept through): nothing is old enough yet.
    try {
      await until('a retention pass at day 29', async () =>
        expire.mock.settledResults.some(
          (r, i) => r.type === 'fulfilled' && expire.mock.calls[i][1].getTime() > Date.now() + 28 * 86_400_000,
        )
          ? true
          : undefined,
      );
    } finally {
      expire.mockRestore();
    }
    expect((await t.db.query(`SELECT state FROM media`))[0].state).toBe('stored');
    t.clock.offset = 31 * 86_400_000;
    await settled(t.db, wamid, 'deleted');
    await until('the chunks deleted', async () =>
      Number((await t.db.query(`SELECT count(*) AS n FROM media_chunks`))[0].n) === 0 ? true : undefined,
    );
    const res = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN);
    expect(res.status).toBe(409);
    expect(res.body.error.details.state).toBe('deleted');
  });

  it('deleting a message (cascade) trashes its bytes', async () => {
    graph.files.set('m-del', { bytes: jpeg(1000), mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 'm-del', 'del');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    await t.db.query(`DELETE FROM messages WHERE id = $1`, [row.message_id]);
    await until('the chunks deleted', async () =>
      Number((await t.db.query(`SELECT count(*) AS n FROM media_chunks`))[0].n) === 0 &&
      Number((await t.db.query(`SELECT count(*) AS n FROM media_trash`))[0].n) === 0
        ? true
        : undefined,
    );
  });
});

describe('media: filesystem driver (e2e)', () => {
  let t: MediaTestApp;
  let graph: FakeGraph;
  const dir = join(__dirname, '..', 'test-artifacts', `media-fs-${process.pid}-${Date.now()}`);

  beforeAll(async () => {
    ({ t, graph } = await createMediaAppWithGraph({ MEDIA_STORAGE: 'filesystem', MEDIA_DIR: dir }));
  });
  afterAll(async () => {
    await t?.close();
    await graph?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores under MEDIA_DIR, serves ranges from the file, deletes it with its message', async () => {
    const bytes = jpeg(70_000);
    graph.files.set('fs-1', { bytes, mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 'fs-1', 'fs1');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    expect(row.state).toBe('stored');
    const file = join(dir, row.id.slice(0, 2), row.id);
    expect(existsSync(file)).toBe(true);
    expect(readdirSync(join(dir, row.id.slice(0, 2)))).toEqual([row.id]); // no temporary left
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM media_chunks`))[0].n)).toBe(0);
    const res = await request(t.app.getHttpServer())
      .get(`/v1/messages/${row.message_id}/media`)
      .set(ADMIN)
      .set('Range', 'bytes=100-199')
      .buffer(true)
      .parse(binary);
    expect(res.status).toBe(206);
    expect(Buffer.compare(res.body as Buffer, bytes.subarray(100, 200))).toBe(0);
    await t.db.query(`DELETE FROM messages WHERE id = $1`, [row.message_id]);
    await until('the file deleted', async () => (existsSync(file) ? undefined : true));
  });
});
