import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MediaConfig } from '../media.config';
import type { ByteRange, MediaStorage } from './media-storage';

/**
 * MEDIA_STORAGE=s3: any S3-compatible store through @aws-sdk/client-s3 (PutObject, GetObject with `Range`,
 * DeleteObject; https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html). Endpoint, region, keys and
 * path-style from MEDIA_S3_*; object key `MEDIA_S3_PREFIX + key`. A streamed PutObject needs its length up front:
 * bodies of unknown length are first spooled to a temporary file under `MEDIA_DIR/.spool` (on disk, never in memory). Checksums are sent
 * and checked only when the operation requires them (S3-compatible stores differ on the newer checksum headers).
 */
export class S3MediaStorage implements MediaStorage {
  readonly name = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly spoolDir: string;

  constructor(config: MediaConfig) {
    this.bucket = config.MEDIA_S3_BUCKET!;
    this.prefix = config.MEDIA_S3_PREFIX;
    this.spoolDir = join(resolve(config.MEDIA_DIR), '.spool');
    this.client = new S3Client({
      region: config.MEDIA_S3_REGION,
      ...(config.MEDIA_S3_ENDPOINT ? { endpoint: config.MEDIA_S3_ENDPOINT } : {}),
      forcePathStyle: config.MEDIA_S3_FORCE_PATH_STYLE === 'true',
      ...(config.MEDIA_S3_ACCESS_KEY_ID
        ? { credentials: { accessKeyId: config.MEDIA_S3_ACCESS_KEY_ID, secretAccessKey: config.MEDIA_S3_SECRET_ACCESS_KEY! } }
        : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Readable, exactLength?: number): Promise<number> {
    if (exactLength !== undefined) {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body, ContentLength: exactLength }));
      return exactLength;
    }
    await mkdir(this.spoolDir, { recursive: true });
    const spool = join(this.spoolDir, `${randomUUID()}.tmp`);
    try {
      await pipeline(body, createWriteStream(spool, { flags: 'wx' }));
      const { size } = await stat(spool);
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: createReadStream(spool), ContentLength: size }),
      );
      return size;
    } finally {
      await rm(spool, { force: true });
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const res = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    if (!res.Body) throw new Error(`media object ${key} has no body`);
    return res.Body as Readable;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
