import { Injectable } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { AdvisoryLocks } from '../database/advisory-locks';
import { AppConfig } from '../config/app-config';
import { EventsRepository } from './events.repository';

/** Deletes events older than EVENT_RETENTION_DAYS, hourly and at start-up (in batches: no long locks). */
@Injectable()
export class EventsRetention extends PeriodicTask {
  protected readonly everyMs = 60 * 60_000;

  constructor(
    private readonly repo: EventsRepository,
    private readonly config: AppConfig,
    protected override readonly exclusive: AdvisoryLocks,
  ) {
    super();
  }

  protected run(): Promise<number> {
    return this.repo.deleteOlderThan(this.config.EVENT_RETENTION_DAYS);
  }
}
