import { Injectable } from '@nestjs/common';

/**
 * Whether this process should get traffic: false from the moment shutdown begins (SIGTERM), so a load balancer
 * polling `/health/ready` stops sending before the listener closes.
 */
@Injectable()
export class Readiness {
  private draining = false;

  get shuttingDown(): boolean {
    return this.draining;
  }

  /** Marks the process as shutting down; irreversible. */
  beginShutdown(): void {
    this.draining = true;
  }
}
