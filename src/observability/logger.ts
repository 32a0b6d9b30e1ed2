import type { LoggerService } from '@nestjs/common';
import pino, { type Logger as Pino } from 'pino';
import type { AppConfig } from '../config/app-config';

/** Nest's log levels → pino's. */
const LEVELS = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' } as const;

/** Query parameters whose values never reach a log line (webhook URL secrets, verify tokens, keys). */
const SECRET_PARAMS = /^(secret|token|key|api_key|apikey|access_token|hub\.verify_token|signature|sig)$/i;

/**
 * Paths pino blanks out (`[redacted]`) wherever they appear in a line: credentials in request headers and in
 * any logged object (config, session credentials, Baileys creds).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
  'req.headers["x-webhook-signature"]',
  'req.headers["webhook-signature"]',
  'req.headers["x-wablas-secret"]',
  'req.headers["x-secret"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.accessToken',
  '*.access_token',
  '*.token',
  '*.creds',
  '*.credentials',
];

/** `url` with the values of secret-bearing query parameters replaced by `[redacted]`. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url || !url.includes('?')) return url;
  const [path, query] = url.split('?', 2);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = decodeURIComponentSafe(eq < 0 ? pair : pair.slice(0, eq));
    return eq >= 0 && SECRET_PARAMS.test(name) ? `${pair.slice(0, eq)}=[redacted]` : pair;
  });
  return `${path}?${parts.join('&')}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The process's root logger: JSON lines on stdout (pino), pretty-printed only when `LOG_FORMAT=pretty`, or
 * `auto` on a TTY with pino-pretty installed (a development dependency: production images log JSON).
 */
export function createRootLogger(config: Pick<AppConfig, 'LOG_LEVEL' | 'LOG_FORMAT'>, destination?: pino.DestinationStream): Pino {
  const options: pino.LoggerOptions = {
    level: LEVELS[config.LOG_LEVEL] ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY);
  if (pretty) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const prettyStream = require('pino-pretty') as (o: object) => pino.DestinationStream;
      return pino(options, prettyStream({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid' }));
    } catch {
      /* pino-pretty is not installed (production install): JSON lines */
    }
  }
  return pino(options);
}

/**
 * Nest's LoggerService over pino: `Logger` lines of every module become JSON lines with `context`; an error's
 * stack goes in `err.stack`, never as a second line.
 */
export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    // Nest calls error(message, stack?, context?).
    const [stack, context] = rest;
    const ctx =
      typeof context === 'string' ? context : typeof stack === 'string' && rest.length === 1 && !stack.includes('\n') ? stack : undefined;
    const trace = typeof stack === 'string' && stack.includes('\n') ? stack : undefined;
    if (message instanceof Error) this.pino.error({ context: ctx, err: message }, message.message);
    else this.pino.error({ context: ctx, ...(trace ? { err: { stack: trace } } : {}) }, String(message));
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: 'info' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) this.pino[level]({ context, ...message });
    else this.pino[level]({ context }, String(message));
  }
}
