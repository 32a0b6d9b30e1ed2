import { plainToInstance, Transform } from 'class-transformer';
import { registerEnvNames } from './dotenv';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/**
 * Every environment variable wa-hub reads, validated once at boot (see `.env.example` for the documented list).
 * A missing or malformed value stops the process with a message naming the variable.
 */
export class AppConfig {
  /** HTTP port. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT: number = 3000;

  /** PostgreSQL URL (`postgres://user:pass@host:5432/db`); unset → embedded PGlite in DATA_DIR. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /** PostgreSQL schema for wa-hub's tables (the tests use their own). */
  @IsString()
  @Matches(/^[a-z_][a-z0-9_]*$/, { message: 'DB_SCHEMA must be a lower-case SQL identifier' })
  DB_SCHEMA: string = 'public';

  /** Connection pool size against PostgreSQL (the embedded database always has one connection). */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(200)
  DB_POOL_SIZE: number = 10;

  /** Directory of the embedded PGlite database; `memory://` keeps it in memory (tests). */
  @IsString()
  DATA_DIR: string = './data';

  /** Bootstrap admin API key; unset and no key stored → one is generated and printed once. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @MinLength(16, { message: 'ADMIN_API_KEY must be at least 16 characters' })
  ADMIN_API_KEY?: string;

  /** Meta app secret (App Dashboard → Settings → Basic) used to check X-Hub-Signature-256. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  META_APP_SECRET?: string;

  /** Verify token you typed in the Meta webhook configuration (GET hub.verify_token). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  META_VERIFY_TOKEN?: string;

  /** Shared secret Wablas must send (`?secret=` or `X-Webhook-Secret`), as Wablas does not sign. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @MinLength(8, { message: 'WABLAS_WEBHOOK_SECRET must be at least 8 characters' })
  WABLAS_WEBHOOK_SECRET?: string;

  /** HMAC secret of seed s1's universal webhook (`X-Webhook-Signature: sha256=<hex>`), shared with the wwebjs server. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @MinLength(8, { message: 'WWEBJS_WEBHOOK_SECRET must be at least 8 characters' })
  WWEBJS_WEBHOOK_SECRET?: string;

  /** API_KEY of the whatsapp-web.js servers; their native webhooks carry it as `x-api-key`. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @MinLength(8, { message: 'WWEBJS_API_KEY must be at least 8 characters' })
  WWEBJS_API_KEY?: string;

  /** Largest webhook body from a wwebjs server, in bytes: `media` events carry the file base64-encoded (10 MB files by default). */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  WWEBJS_BODY_LIMIT_BYTES: number = 16 * 1_048_576;

  /** Largest accepted request body, in bytes (Meta batches up to 1,000 notifications per POST). */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  BODY_LIMIT_BYTES: number = 1_048_576;

  /**
   * Most bytes of signed webhook bodies read at once before their signature could be checked (the HMAC needs the
   * body), in bytes; past it such requests get 503 with `Retry-After: 1`. Caps the memory unauthenticated clients
   * can make the server hold; requests whose credentials are headers are refused before any byte is read.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1_048_576)
  UNVERIFIED_BODY_BUDGET_BYTES: number = 64 * 1_048_576;

  /** Most webhooks applied in one database transaction (group commit on the ingest path). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  INGEST_BATCH_MAX: number = 128;

  /** Ingest batches in flight at once on PostgreSQL (each holds a pool connection; keep below DB_POOL_SIZE). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  INGEST_CONCURRENCY: number = 4;

  /**
   * When a provider webhook is answered (issue 16). `inbox` (default): once its exact bytes, dedupe key and
   * canonical events are committed to the inbox; messages, conversations, statuses and the event log are written
   * by the applier right after (ingest lag: `wahub_ingest_lag_seconds`, usually milliseconds). `applied`: the
   * answer also waits (at most INGEST_APPLY_WAIT_MS) until its own events are applied, so a client that reads
   * `/v1/messages` right after the 2xx sees them (read-your-writes), at the cost of a slower answer. Routes whose
   * answer carries a record id (seed s0's `record_id`, seed s3's `stored`) always wait.
   */
  @IsIn(['inbox', 'applied'])
  INGEST_ACK: 'inbox' | 'applied' = 'inbox';

  /** Longest a webhook answer waits for its own events to be applied (INGEST_ACK=applied, record ids), in ms. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  INGEST_APPLY_WAIT_MS: number = 10_000;

  /** Most acknowledged webhooks the applier writes in one transaction. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  INGEST_APPLY_BATCH_MAX: number = 1000;

  /**
   * Backpressure (issue 16): while this process holds more acknowledged webhooks than this waiting to be applied,
   * a new webhook's answer also waits (at most INGEST_APPLY_WAIT_MS) until its own events are applied. Webhooks
   * arriving faster than they can be applied then slow the answers down (senders retry or queue on their side)
   * instead of growing the ingest lag without bound; below it answers never wait for the applier. 0: always wait.
   * The default absorbs stalls (a checkpoint's I/O can hold the applier for seconds: at 5000, `bench:read --ingest
   * 1000` saw acks wait 4 s behind such a backlog, at 20,000 its ack p99 stayed 42 ms): about 20 s of a steady
   * 1,000 webhooks/s, well inside INGEST_READY_MAX_LAG_SECONDS; only sustained overload is pushed back.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  INGEST_APPLY_BACKLOG_MAX: number = 20_000;

  /**
   * How often the applier looks for inbox rows no process is applying (acknowledged by a process that crashed or
   * stopped), in ms; rows younger than 5 s are left to the process that acknowledged them.
   */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  INGEST_SWEEP_MS: number = 1000;

  /**
   * The applier ANALYZEs an ingest table (messages, conversations, contacts, ...) that PostgreSQL has never
   * analyzed once this many of its rows were written (0 = never; autovacuum's own first analyze can be a minute
   * away, and until one runs, statement plans cached while the table was nearly empty stay in use).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  INGEST_ANALYZE_MIN_ROWS: number = 1000;

  /** `/health/ready` answers 503 (`ingest: "lagging"`) while the oldest unapplied webhook is older than this, in seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  INGEST_READY_MAX_LAG_SECONDS: number = 30;

  /** API requests per minute per key (per IP without a key); the per-scope values below override it. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_MINUTE: number = 100;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  RATE_LIMIT_READ_PER_MINUTE?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  RATE_LIMIT_SEND_PER_MINUTE?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  RATE_LIMIT_ADMIN_PER_MINUTE?: number;

  /**
   * Redis URL (`redis://[:password@]host:6379/<db>`, `rediss://` for TLS) for the rate-limit and failed-authentication
   * counters shared by every process; unset → they are shared through PostgreSQL (`rate_counters`). When set, boot
   * fails if Redis does not answer within 5 s.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  /** Prefix of wa-hub's Redis keys (several installations, or test runs, can share one Redis). */
  @Matches(/^[A-Za-z0-9:_.-]{0,64}$/, { message: 'REDIS_KEY_PREFIX must be at most 64 letters, digits or : _ . -' })
  REDIS_KEY_PREFIX: string = 'wa-hub:';

  /** Failed authentications (bad key, signature or webhook secret) allowed per IP per minute before 429. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTH_FAILURES_PER_MINUTE: number = 30;

  /** Reverse proxies in front of wa-hub (hop count for X-Forwarded-For); 0 = clients connect directly. Never "trust all". */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10)
  TRUST_PROXY: number = 0;

  /** Comma-separated browser origins allowed by CORS (e.g. https://app.example.com); unset = no cross-origin access. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /** Region for phone numbers written without a country code (`081234567890`), ISO 3166 alpha-2 like `ID`. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Z]{2}$/, { message: 'DEFAULT_PHONE_REGION must be an ISO 3166 alpha-2 code such as ID or US' })
  DEFAULT_PHONE_REGION?: string;

  // ---- Sending (issue 5). Per-session overrides: PATCH /v1/sessions/:id {credentials}. ----

  /** Meta system-user or app access token for the Graph API (Bearer). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  META_ACCESS_TOKEN?: string;

  /** Graph API base URL (no trailing slash). */
  @Matches(/^https?:\/\/[^/]+.*[^/]$/, { message: 'META_GRAPH_BASE_URL must be an http(s) URL without a trailing slash' })
  META_GRAPH_BASE_URL: string = 'https://graph.facebook.com';

  /** Graph API version in the path, e.g. v21.0. */
  @Matches(/^v\d+\.\d+$/, { message: 'META_API_VERSION must look like v21.0' })
  META_API_VERSION: string = 'v21.0';

  /** Wablas server of the account, e.g. https://tegal.wablas.com (no trailing slash). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^/]+.*[^/]$/, { message: 'WABLAS_BASE_URL must be an http(s) URL without a trailing slash' })
  WABLAS_BASE_URL?: string;

  /** Wablas device token (`Authorization: <token>` or `<token>.<secret key>`). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  WABLAS_TOKEN?: string;

  /** Wablas secret key, appended to the token with a dot (newer accounts). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  WABLAS_SECRET_KEY?: string;

  /** whatsapp-web.js API server (chrishubert/whatsapp-api), e.g. http://wwebjs:3000 (no trailing slash). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^/]+.*[^/]$/, { message: 'WWEBJS_BASE_URL must be an http(s) URL without a trailing slash' })
  WWEBJS_BASE_URL?: string;

  /** Session used by POST /v1/messages without `sessionId` (wa-hub session id); else the only connected one. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    message: 'DEFAULT_SESSION_ID must be a wa-hub session id (UUID)',
  })
  DEFAULT_SESSION_ID?: string;

  /** Messages per second per session (Meta's default throughput is 80/s). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  SEND_RATE_PER_SECOND: number = 80;

  /** Minimum gap between two messages to the same recipient on one session, in ms (0 = none). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  SEND_MIN_GAP_PER_RECIPIENT_MS: number = 0;

  /** How long temporary failures are retried before the message fails, in seconds (default 24 h). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SEND_RETRY_DEADLINE_SECONDS: number = 86_400;

  /** A claimed job whose process stopped is claimed again after this many seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OUTBOX_LEASE_SECONDS: number = 60;

  /** Provider HTTP call timeout, in ms. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  SEND_TIMEOUT_MS: number = 15_000;

  /** Run the delivery worker in this process (several processes may run it; jobs are claimed with SKIP LOCKED). */
  @IsIn(['true', 'false'])
  SEND_WORKER: 'true' | 'false' = 'true';

  /**
   * Bytes of live events a stream may have waiting in this process for a client that reads too slowly (SSE
   * response, Socket.IO socket) before it is disconnected; the client resumes from the log (`Last-Event-ID`,
   * `lastEventId`) with nothing missed, and wa-hub's memory stays bounded. Default 8 MiB.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  EVENT_STREAM_MAX_BUFFER_BYTES: number = 8 * 1024 * 1024;

  /** Days the event log (GET /v1/events, SSE, outgoing webhooks) keeps events. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  EVENT_RETENTION_DAYS: number = 7;

  // ---- Baileys sessions run in-process (src/providers/baileys). ----

  /** Overrides Baileys' `waWebSocketUrl` (default WhatsApp's `wss://web.whatsapp.com/ws/chat`): tests and proxies. */
  @IsOptional()
  @Matches(/^wss?:\/\/\S+$/, { message: 'BAILEYS_WA_WS_URL must be a ws:// or wss:// URL' })
  BAILEYS_WA_WS_URL?: string;

  /** Seconds a process holds a Baileys session's lease; another process takes a dead one's sessions after it. */
  @Transform(toInt)
  @IsInt()
  @Min(3)
  @Max(3600)
  BAILEYS_LEASE_SECONDS: number = 30;

  /** Store WhatsApp's history sync (as `append`, no auto-replies); off: only live messages. */
  @IsIn(['true', 'false'])
  BAILEYS_SYNC_HISTORY: 'true' | 'false' = 'false';

  /** Longest reconnect backoff after a lost connection, in seconds (from 1 s, doubling, with jitter). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  BAILEYS_MAX_BACKOFF_SECONDS: number = 300;

  /** Run Baileys sessions in this process (claim leases); `false` leaves them to other processes. */
  @IsIn(['true', 'false'])
  BAILEYS_WORKER: 'true' | 'false' = 'true';

  /** Log level: error, warn, log, debug, verbose. */
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /** Log lines: `json` (one JSON object per line), `pretty` (for people), `auto` = pretty only on a TTY. */
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: 'auto' | 'json' | 'pretty' = 'auto';

  /** Bearer token for `GET /metrics` (an admin API key works too); unset: no `/metrics` (404). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  /** Milliseconds SIGTERM/SIGINT may take: in-flight requests finish, work drains; then the process exits anyway. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  SHUTDOWN_TIMEOUT_MS: number = 8000;

  /** Listen address (`0.0.0.0` all IPv4 interfaces, `::` all, `127.0.0.1` local only). */
  @IsString()
  HOST: string = '0.0.0.0';
}

/** Optional variables without a default (class fields without an initialiser are not enumerable keys). */
const OPTIONAL_VARIABLES = [
  'DATABASE_URL',
  'ADMIN_API_KEY',
  'META_APP_SECRET',
  'META_VERIFY_TOKEN',
  'WABLAS_WEBHOOK_SECRET',
  'WWEBJS_WEBHOOK_SECRET',
  'WWEBJS_API_KEY',
  'RATE_LIMIT_READ_PER_MINUTE',
  'RATE_LIMIT_SEND_PER_MINUTE',
  'RATE_LIMIT_ADMIN_PER_MINUTE',
  'REDIS_URL',
  'CORS_ORIGINS',
  'DEFAULT_PHONE_REGION',
  'BAILEYS_WA_WS_URL',
  'METRICS_TOKEN',
] as const;
registerEnvNames([...Object.keys(new AppConfig()), ...OPTIONAL_VARIABLES, 'NODE_ENV', 'HOST', 'PORT']);

/** Raised when the environment does not validate; its message names every bad variable. */
export class ConfigError extends Error {}

/**
 * Validates `env` into an {@link AppConfig}.
 * @throws ConfigError listing each invalid variable and why.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const picked: Record<string, unknown> = {};
  for (const key of [...known, ...OPTIONAL_VARIABLES]) {
    if (env[key] !== undefined) picked[key] = env[key];
  }
  const config = plainToInstance(AppConfig, picked);
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
