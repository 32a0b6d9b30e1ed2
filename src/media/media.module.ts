import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { MediaController } from './media.controller';
import { MediaConfig, loadMediaConfig } from './media.config';
import { MediaRepository } from './media.repository';
import { MediaService } from './media.service';
import { MediaWorker } from './media.worker';
import { FilesystemMediaStorage } from './storage/filesystem.storage';
import { MEDIA_STORAGE, MEDIA_STORAGES, type MediaStorage, type MediaStorages } from './storage/media-storage';
import { PostgresMediaStorage } from './storage/postgres.storage';
import { S3MediaStorage } from './storage/s3.storage';

/**
 * Every driver this process can read: postgres always, filesystem always (MEDIA_DIR), s3 when a bucket is set, so
 * items stored before MEDIA_STORAGE changed are still served and deleted.
 */
function buildStorages(config: MediaConfig, repo: MediaRepository): MediaStorages {
  const all = new Map<string, MediaStorage>();
  all.set('postgres', new PostgresMediaStorage(repo));
  all.set('filesystem', new FilesystemMediaStorage(config.MEDIA_DIR));
  if (config.MEDIA_S3_BUCKET) all.set('s3', new S3MediaStorage(config));
  return all;
}

/**
 * Media (issue 14): download jobs for every received file (queued by a trigger on `messages`, see migration
 * Media1764633600000), the worker, storage drivers (MEDIA_STORAGE), serving with ranges and signed URLs. Settings
 * (MEDIA_*) are read from the environment by {@link loadMediaConfig}.
 */
@Module({
  controllers: [MediaController],
  providers: [
    { provide: MediaConfig, useFactory: () => loadMediaConfig() },
    MediaRepository,
    { provide: MEDIA_STORAGES, useFactory: buildStorages, inject: [MediaConfig, MediaRepository] },
    {
      provide: MEDIA_STORAGE,
      useFactory: (config: MediaConfig, all: MediaStorages) => all.get(config.MEDIA_STORAGE)!,
      inject: [MediaConfig, MEDIA_STORAGES],
    },
    MediaService,
    MediaWorker,
  ],
  exports: [MediaService],
})
export class MediaModule implements OnApplicationShutdown {
  constructor(@Inject(MEDIA_STORAGES) private readonly storages: MediaStorages) {}

  onApplicationShutdown(): void {
    for (const s of this.storages.values()) if (s instanceof S3MediaStorage) s.destroy();
  }
}
