import type { Readable } from 'node:stream';

/** An inclusive byte range of an object (HTTP Range semantics). */
export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Where media bytes live, chosen by MEDIA_STORAGE: `postgres` ({@link PostgresMediaStorage}), `filesystem`
 * ({@link FilesystemMediaStorage}), `s3` ({@link S3MediaStorage}). Keys are wa-hub's (`<media uuid>`); a put
 * replaces an object of the same key. Bodies are streamed both ways, never held whole in memory.
 */
export interface MediaStorage {
  /** The MEDIA_STORAGE name, recorded with each object (`media.storage`) so a later change of driver still finds it. */
  readonly name: string;
  /**
   * Writes `body` under `key`, reading it to its end.
   * @param exactLength the body's length when known in advance (lets S3 stream without spooling).
   * @returns the bytes written.
   * @throws the body's error (e.g. the size limit) or the store's; a partial object may remain (delete it).
   */
  put(key: string, body: Readable, exactLength?: number): Promise<number>;
  /**
   * Reads `key`, or only `range` of it (the caller checked it against the object's size).
   * @throws Error when the object is missing or the store fails.
   */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Deletes `key`; a missing object is not an error. */
  delete(key: string): Promise<void>;
}

/** DI token of the configured driver and of the map of every driver (`MEDIA_STORAGES`) by name. */
export const MEDIA_STORAGE = Symbol('MEDIA_STORAGE');
export const MEDIA_STORAGES = Symbol('MEDIA_STORAGES');
export type MediaStorages = ReadonlyMap<string, MediaStorage>;
