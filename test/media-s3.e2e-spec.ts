import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeS3Server } from './fakes/s3/fake-s3-server';
import { loadFixture } from './helpers/fixtures';
import { postMeta, postWablas } from './helpers/http';
import { until } from './helpers/until';
import { ADMIN, binary, createMediaAppWithGraph, FakeGraph, jpeg, type MediaTestApp, metaMedia, settled } from './media-kit';

const BUCKET = 'wa-hub-media';
const ACCESS_KEY = 'AKIAFAKEWAHUB0000001';

/**
 * MEDIA_STORAGE=s3 through @aws-sdk/client-s3 against a local server speaking S3's object API
 * (test/fakes/s3/fake-s3-server.ts): PutObject with a known length, spooled uploads of unknown length, GetObject with
 * Range, DeleteObject on message deletion and retention.
 */
describe('media: s3 driver (e2e)', () => {
  let t: MediaTestApp;
  let graph: FakeGraph;
  let s3: FakeS3Server;
  const dir = join(__dirname, '..', 'test-artifacts', `media-s3-${process.pid}-${Date.now()}`);
  const http = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    s3 = new FakeS3Server(BUCKET, ACCESS_KEY);
    const endpoint = await s3.start();
    ({ t, graph } = await createMediaAppWithGraph({
      MEDIA_ALLOW_HTTP: 'true',
      MEDIA_ALLOW_PRIVATE: 'true',
      MEDIA_STORAGE: 's3',
      MEDIA_S3_ENDPOINT: endpoint,
      MEDIA_S3_BUCKET: BUCKET,
      MEDIA_S3_REGION: 'eu-west-1',
      MEDIA_S3_ACCESS_KEY_ID: ACCESS_KEY,
      MEDIA_S3_SECRET_ACCESS_KEY: 'fake-secret-key-0123456789',
      MEDIA_S3_FORCE_PATH_STYLE: 'true',
      MEDIA_RETENTION_DAYS: '7',
      MEDIA_DIR: dir,
    }));
  });
  beforeEach(async () => {
    await t.reset();
    graph.files.clear();
    s3.objects.clear();
    s3.requests.length = 0;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([graph?.stop(), s3?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('PutObject under MEDIA_S3_PREFIX, served whole and by range through GetObject, deleted with its message', async () => {
    const bytes = jpeg(120_000);
    graph.files.set('s3-1', { bytes, mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 's3-1', 's31');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    expect(row.state).toBe('stored');
    const key = `media/${row.id}`;
    expect(Buffer.compare(s3.objects.get(key)!.body, bytes)).toBe(0);
    const put = s3.requests.find((r) => r.method === 'PUT')!;
    expect(put).toMatchObject({ bucket: BUCKET, key });
    expect(put.headers['content-length']).toBe(String(bytes.length));
    expect(put.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAFAKEWAHUB0000001\/\d{8}\/eu-west-1\/s3\/aws4_request/);
    expect(Number((await t.db.query(`SELECT count(*) AS n FROM media_chunks`))[0].n)).toBe(0);

    const full = await http().get(`/v1/messages/${row.message_id}/media`).set(ADMIN).buffer(true).parse(binary);
    expect(full.status).toBe(200);
    expect(full.headers['content-length']).toBe(String(bytes.length));
    expect(Buffer.compare(full.body as Buffer, bytes)).toBe(0);
    const part = await http()
      .get(`/v1/messages/${row.message_id}/media`)
      .set(ADMIN)
      .set('Range', 'bytes=1000-1999')
      .buffer(true)
      .parse(binary);
    expect(part.status).toBe(206);
    expect(Buffer.compare(part.body as Buffer, bytes.subarray(1000, 2000))).toBe(0);
    expect(s3.requests.filter((r) => r.method === 'GET').map((r) => r.headers.range)).toEqual([undefined, 'bytes=1000-1999']);

    await t.db.query(`DELETE FROM messages WHERE id = $1`, [row.message_id]);
    await until('DeleteObject', async () => (s3.objects.has(key) ? undefined : true));
    expect(s3.requests.some((r) => r.method === 'DELETE' && r.key === key)).toBe(true);
  });

  it('a body of unknown length (chunked) is spooled, then put with its length; the spool is emptied', async () => {
    const bytes = jpeg(300_000);
    graph.plain.set('chunked.jpeg', { bytes, mime: 'image/jpeg', chunked: true });
    const fixture = loadFixture<Record<string, unknown>>('wablas/inbound/image.json');
    await postWablas(t.app, { ...fixture, url: `${graph.base}/plain/chunked.jpeg` });
    const row = await settled(t.db, fixture.id as string);
    expect(row.state).toBe('stored');
    expect(Buffer.compare(s3.objects.get(`media/${row.id}`)!.body, bytes)).toBe(0);
    const spool = join(dir, '.spool');
    expect(existsSync(spool) ? readdirSync(spool) : []).toEqual([]);
  });

  it('retention deletes the object from the bucket', async () => {
    graph.files.set('s3-old', { bytes: jpeg(5000), mime: 'image/jpeg' });
    const { body, wamid } = metaMedia('image', 's3-old', 's3old');
    await postMeta(t.app, body);
    const row = await settled(t.db, wamid);
    expect(s3.objects.has(`media/${row.id}`)).toBe(true);
    t.clock.offset = 8 * 86_400_000;
    await settled(t.db, wamid, 'deleted');
    await until('DeleteObject', async () => (s3.objects.has(`media/${row.id}`) ? undefined : true));
  });
});
