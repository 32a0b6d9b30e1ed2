import { Injectable } from '@nestjs/common';

/** Wakes this process's outbox worker when a job is queued, so a send does not wait for the next poll. */
@Injectable()
export class OutboxSignal {
  private listener?: () => void;

  onWake(listener: () => void): void {
    this.listener = listener;
  }

  wake(): void {
    this.listener?.();
  }
}
