import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : Number(value);
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

  /** Log level: error, warn, log, debug, verbose. */
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
}

/** Raised when the environment does not validate; its message names every bad variable. */
export class ConfigError extends Error {}

/**
 * Validates `env` into an {@link AppConfig}.
 * @throws ConfigError listing each invalid variable and why.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const picked: Record<string, unknown> = {};
  for (const key of [...known, 'DATABASE_URL', 'ADMIN_API_KEY', 'META_APP_SECRET', 'META_VERIFY_TOKEN', 'WABLAS_WEBHOOK_SECRET', 'WWEBJS_WEBHOOK_SECRET', 'WWEBJS_API_KEY', 'RATE_LIMIT_READ_PER_MINUTE', 'RATE_LIMIT_SEND_PER_MINUTE', 'RATE_LIMIT_ADMIN_PER_MINUTE', 'CORS_ORIGINS', 'DEFAULT_PHONE_REGION']) {
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
