import { Readable } from 'node:stream';
import type { MediaRepository } from '../media.repository';
import type { ByteRange, MediaStorage } from './media-storage';

/** Bytes per `media_chunks` row: every chunk but an object's last has exactly this size (range reads rely on it). */
export const CHUNK_BYTES = 256 * 1024;

/**
 * MEDIA_STORAGE=postgres (the default; works on the embedded database with nothing else to run): objects in
 * `media_chunks`, {@link CHUNK_BYTES} per row, each chunk written by its own statement as the body streams in (no
 * long transaction holds a connection during a download) and read back one row at a time, only the rows a range
 * touches. The object becomes visible through its `media` row, written after the last chunk.
 */
export class PostgresMediaStorage implements MediaStorage {
  readonly name = 'postgres';

  constructor(private readonly repo: MediaRepository) {}

  async put(key: string, body: Readable): Promise<number> {
    await this.repo.deleteChunks(key);
    let seq = 0;
    let total = 0;
    let parts: Buffer[] = [];
    let pending = 0;
    for await (const c of body as AsyncIterable<Buffer>) {
      parts.push(c);
      pending += c.length;
      total += c.length;
      if (pending < CHUNK_BYTES) continue;
      let all = Buffer.concat(parts);
      while (all.length >= CHUNK_BYTES) {
        await this.repo.putChunk(key, seq++, all.subarray(0, CHUNK_BYTES));
        all = all.subarray(CHUNK_BYTES);
      }
      parts = all.length ? [all] : [];
      pending = all.length;
    }
    if (pending > 0 || seq === 0) await this.repo.putChunk(key, seq, Buffer.concat(parts));
    return total;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const first = range ? Math.floor(range.start / CHUNK_BYTES) : 0;
    const last = range ? Math.floor(range.end / CHUNK_BYTES) : Number.MAX_SAFE_INTEGER;
    const head = await this.repo.chunk(key, first);
    if (!head) throw new Error(`media object ${key} is missing`);
    const repo = this.repo;
    async function* chunks(): AsyncGenerator<Buffer> {
      let data: Buffer | null = head;
      for (let seq = first; data && seq <= last; seq++) {
        if (seq > first) data = await repo.chunk(key, seq);
        if (!data) break;
        const from = range && seq === first ? range.start - seq * CHUNK_BYTES : 0;
        const to = range && seq === last ? range.end - seq * CHUNK_BYTES + 1 : data.length;
        yield data.subarray(from, to);
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async delete(key: string): Promise<void> {
    await this.repo.deleteChunks(key);
  }
}
