import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { CLOCK, type Clock } from '../common/clock';
import { PeriodicTask } from '../common/periodic-task';
import { AdvisoryLocks } from '../database/advisory-locks';
import { MediaConfig } from './media.config';
import { type ClaimedMedia, MediaRepository } from './media.repository';
import { MediaService } from './media.service';
import { MEDIA_STORAGES, type MediaStorages } from './storage/media-storage';

/** Objects deleted from the stores per tick. */
const TRASH_PAGE = 100;
/** Items expired by retention per statement. */
const RETENTION_PAGE = 500;
/** How often retention runs, in ms of the injected clock. */
const RETENTION_EVERY_MS = 60_000;
/** The advisory lock retention runs under, so one process at a time expires items (see AdvisoryLocks). */
export const MEDIA_RETENTION_LOCK = 'wa-hub:MediaRetention';

/**
 * The media worker, every MEDIA_POLL_MS (and at start-up) in each process with MEDIA_WORKER not `false`:
 * 1. claims due pending items (`FOR UPDATE SKIP LOCKED`, a lease of MEDIA_TIMEOUT_MS + MEDIA_LEASE_GRACE_SECONDS, at most
 *    MEDIA_CONCURRENCY in flight here) and downloads each ({@link MediaService.download}); the outcome is written
 *    only while this worker still holds the lease. A process that dies mid-download leaves the lease to run out;
 *    the item is then claimed again and downloaded from the start (the partial object is replaced).
 * 2. deletes from the stores the objects of deleted media rows (`media_trash`);
 * 3. with MEDIA_RETENTION_DAYS, once a minute: stored items that arrived longer ago become `deleted`, their bytes
 *    trashed; under the advisory lock {@link MEDIA_RETENTION_LOCK}, so in one process at a time (a process that
 *    finds it held skips this minute's pass: the holder is doing it).
 * Times are the injected clock's.
 */
@Injectable()
export class MediaWorker extends PeriodicTask {
  protected readonly everyMs: number;
  private readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private lastRetention = 0;
  private stopped = false;

  constructor(
    private readonly repo: MediaRepository,
    private readonly media: MediaService,
    private readonly config: MediaConfig,
    @Inject(MEDIA_STORAGES) private readonly storages: MediaStorages,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly locks: AdvisoryLocks,
  ) {
    super();
    this.everyMs = config.MEDIA_POLL_MS;
  }

  override onApplicationBootstrap(): void {
    if (this.config.MEDIA_WORKER === 'true') super.onApplicationBootstrap();
  }

  override async onModuleDestroy(): Promise<void> {
    super.onModuleDestroy();
    this.stopped = true;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  protected async run(): Promise<void> {
    if (this.stopped) return;
    await this.claim();
    await this.emptyTrash();
    if (this.config.MEDIA_RETENTION_DAYS !== undefined && this.clock.now() - this.lastRetention >= RETENTION_EVERY_MS) {
      const now = this.clock.now();
      const cutoff = new Date(now - this.config.MEDIA_RETENTION_DAYS * 86_400_000);
      const ran = await this.locks.runExclusive(MEDIA_RETENTION_LOCK, async () => {
        while ((await this.repo.expire(cutoff, new Date(now), RETENTION_PAGE)) === RETENTION_PAGE && !this.stopped);
      });
      this.lastRetention = now;
      if (ran) await this.emptyTrash();
    }
  }

  private async claim(): Promise<void> {
    const room = this.config.MEDIA_CONCURRENCY - this.inFlight.size;
    if (room <= 0) return;
    const lease = Math.ceil(this.config.MEDIA_TIMEOUT_MS / 1000) + this.config.MEDIA_LEASE_GRACE_SECONDS;
    const jobs = await this.repo.claim(room, lease, this.workerId, this.media.now());
    for (const job of jobs) {
      const p = this.process(job)
        .catch((e: Error) => this.log.error(`media ${job.id} failed to record: ${e.message}`))
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async process(job: ClaimedMedia): Promise<void> {
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.MEDIA_TIMEOUT_MS)]);
    const outcome = await this.media.download(job, signal);
    if (this.stopped && outcome.kind !== 'stored') return; // shutting down: the lease runs out and it is tried again
    if (outcome.kind === 'stored') {
      if (!(await this.repo.markStored(job.id, this.workerId, outcome.stored, this.media.now(), outcome.movedFrom))) {
        // The lease went to another worker, which stores its own copy under the same key: nothing to undo.
        this.log.warn(`media ${job.id}: lease lost before it was recorded`);
      }
      return;
    }
    await this.repo.markUnfinished(job.id, this.workerId, outcome.code, outcome.error, outcome.kind === 'retry' ? outcome.at : null);
  }

  private async emptyTrash(): Promise<void> {
    const rows = await this.repo.trash(TRASH_PAGE);
    if (rows.length === 0) return;
    const done: string[] = [];
    for (const r of rows) {
      const storage = this.storages.get(r.storage);
      if (!storage) continue; // a driver not configured here: another process (or a later start) deletes it
      try {
        await storage.delete(r.object_key);
        done.push(r.id);
      } catch (e) {
        this.log.warn(`media object ${r.object_key} (${r.storage}) not deleted: ${(e as Error).message}`);
      }
    }
    await this.repo.clearTrash(done);
  }
}
