import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ByteRange, MediaStorage } from './media-storage';

/**
 * MEDIA_STORAGE=filesystem: one file per object under MEDIA_DIR, `<dir>/<first 2 characters of the key>/<key>`.
 * Written to a temporary name and renamed, so a reader never sees half a file; ranges read with positioned
 * streams. Keys are wa-hub's own (uuids): no path from outside reaches the file system.
 */
export class FilesystemMediaStorage implements MediaStorage {
  readonly name = 'filesystem';
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  private pathOf(key: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new Error(`invalid media key ${key}`);
    return join(this.dir, key.slice(0, 2), key);
  }

  async put(key: string, body: Readable): Promise<number> {
    const path = this.pathOf(key);
    await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return (await stat(path)).size;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    await stat(path);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}
