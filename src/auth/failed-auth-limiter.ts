import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { LogFlood } from '../observability/log-flood';
import { Metrics } from '../observability/metrics';
import { SharedCounters } from './shared-counters';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';

const WINDOW_MS = 60_000;

/**
 * Limits failed authentications (unknown API keys, bad signatures, wrong webhook secrets, wrong verify tokens)
 * per client IP, so guessing is slow: past `AUTH_FAILURES_PER_MINUTE` failures in a minute (fixed windows), that IP
 * gets 429 with `Retry-After` until the minute ends. Verified traffic is never counted. Counted across every
 * process on the database (SharedCounters).
 */
@Injectable()
export class FailedAuthLimiter {
  private readonly rejections = new LogFlood(new Logger('Webhooks'));

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly counters: SharedCounters,
  ) {}

  /** @throws AppError 429 `RATE_LIMITED` when `ip` has failed too often this minute. */
  assertAllowed(ip: string): void {
    const { total, msLeft } = this.counters.peek(`auth-failures:${ip}`, WINDOW_MS);
    if (total >= this.config.AUTH_FAILURES_PER_MINUTE) {
      const retryAfter = Math.max(1, Math.ceil(msLeft / 1000));
      throw new AppError(
        HttpStatus.TOO_MANY_REQUESTS,
        'RATE_LIMITED',
        `Too many failed authentications from this address; retry in ${retryAfter} s`,
        undefined,
        { 'Retry-After': String(retryAfter) },
      );
    }
  }

  /** Counts one failure for `ip`. */
  recordFailure(ip: string): void {
    this.counters.hit(`auth-failures:${ip}`, WINDOW_MS);
  }

  /**
   * Runs a credential check for `req`: refused first when its IP is over the limit, and a thrown 401/403 counts
   * as a failure.
   */
  guard<T>(req: IncomingMessage & { ip?: string }, check: () => T): T {
    const ip = this.ipOf(req);
    this.assertAllowed(ip);
    try {
      return check();
    } catch (e) {
      if (e instanceof AppError && (e.status === HttpStatus.UNAUTHORIZED || e.status === HttpStatus.FORBIDDEN)) {
        this.recordFailure(ip);
        this.reportRejected(req, ip, e);
      }
      throw e;
    }
  }

  /**
   * A refused provider webhook: counted (`wahub_webhooks_total{state="rejected"}`) and logged at warn with its
   * provider, route and reason, at most one line a second per provider and reason (with a suppressed count).
   */
  reportRejected(req: IncomingMessage, ip: string, e: AppError): void {
    const route = (req.url ?? '').split('?', 1)[0];
    const provider = /^\/webhooks\/([a-z0-9-]+)/.exec(route)?.[1] ?? 'compat';
    this.metrics.webhooks.inc({ provider, state: 'rejected' });
    this.rejections.write('warn', `rejected:${provider}:${e.code}`, `webhook rejected: ${e.message}`, {
      provider,
      route,
      status: e.status,
      reason: e.code,
      ip,
    });
  }

  /** The client address: Express's `req.ip` (which honours TRUST_PROXY), else the socket's. */
  ipOf(req: IncomingMessage & { ip?: string }): string {
    if (req.ip) return req.ip;
    const hops = this.config.TRUST_PROXY;
    const forwarded = req.headers['x-forwarded-for'];
    if (hops > 0 && typeof forwarded === 'string') {
      // The address `hops` proxies back from us, as Express computes it with `trust proxy` = hop count.
      const chain = [...forwarded.split(',').map((s) => s.trim()), req.socket.remoteAddress ?? ''];
      return chain[Math.max(0, chain.length - 1 - hops)] || 'unknown';
    }
    return req.socket.remoteAddress ?? 'unknown';
  }
}
