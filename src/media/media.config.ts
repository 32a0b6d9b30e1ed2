import { registerEnvNames } from '../config/dotenv';
import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toNumber = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));

/** The environment variables this module reads. */
const VARIABLES = [
  'MEDIA_STORAGE',
  'MEDIA_DIR',
  'MEDIA_S3_ENDPOINT',
  'MEDIA_S3_BUCKET',
  'MEDIA_S3_REGION',
  'MEDIA_S3_ACCESS_KEY_ID',
  'MEDIA_S3_SECRET_ACCESS_KEY',
  'MEDIA_S3_FORCE_PATH_STYLE',
  'MEDIA_S3_PREFIX',
  'MEDIA_MAX_BYTES',
  'MEDIA_RETENTION_DAYS',
  'MEDIA_WORKER',
  'MEDIA_CONCURRENCY',
  'MEDIA_POLL_MS',
  'MEDIA_TIMEOUT_MS',
  'MEDIA_LEASE_GRACE_SECONDS',
  'MEDIA_RETRY_BASE_SECONDS',
  'MEDIA_RETRY_HOURS',
  'MEDIA_ALLOW_HTTP',
  'MEDIA_ALLOW_PRIVATE',
  'MEDIA_URL_SECRET',
  'MEDIA_URL_TTL_SECONDS',
  'MEDIA_PUBLIC_BASE_URL',
] as const;
registerEnvNames(VARIABLES);

/**
 * Media settings, validated from `process.env` when the module is built (a bad value stops the app with a message
 * naming the variable). Sizes in bytes, durations in the unit their name says.
 */
export class MediaConfig {
  /** Where file bytes live: `postgres` (table media_chunks; the default, nothing else to run), `filesystem`, `s3`. */
  @IsIn(['postgres', 'filesystem', 's3'])
  MEDIA_STORAGE: 'postgres' | 'filesystem' | 's3' = 'postgres';

  /** Directory of the `filesystem` driver (created when missing). */
  @IsString()
  @MinLength(1)
  MEDIA_DIR: string = './data/media';

  /** S3 endpoint for S3-compatible stores (MinIO, R2, ...); unset = AWS for MEDIA_S3_REGION. */
  @IsOptional()
  @Matches(/^https?:\/\/[^/]+\/?$/, { message: 'MEDIA_S3_ENDPOINT must be an http(s) origin such as http://minio:9000' })
  MEDIA_S3_ENDPOINT?: string;

  /** Bucket of the `s3` driver (required with MEDIA_STORAGE=s3). */
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'MEDIA_S3_BUCKET must be an S3 bucket name' })
  MEDIA_S3_BUCKET?: string;

  @IsString()
  MEDIA_S3_REGION: string = 'us-east-1';

  /** Access key id; unset = the AWS SDK's default credential chain (environment, profile, instance role). */
  @IsOptional()
  @IsString()
  MEDIA_S3_ACCESS_KEY_ID?: string;

  @IsOptional()
  @IsString()
  MEDIA_S3_SECRET_ACCESS_KEY?: string;

  /** `true`: `endpoint/bucket/key` URLs (MinIO and most S3-compatible stores) instead of `bucket.endpoint/key`. */
  @IsIn(['true', 'false'])
  MEDIA_S3_FORCE_PATH_STYLE: 'true' | 'false' = 'false';

  /** Key prefix inside the bucket. */
  @IsString()
  MEDIA_S3_PREFIX: string = 'media/';

  /** Largest file stored, in bytes (default 100 MB, WhatsApp's document limit); larger ones fail `TOO_LARGE`. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(4 * 1024 ** 3)
  MEDIA_MAX_BYTES: number = 100 * 1024 * 1024;

  /** Days stored files are kept (counted from the message's arrival); unset = kept for ever. */
  @IsOptional()
  @Transform(toNumber)
  @IsNumber()
  @Min(0.0001)
  @Max(36500)
  MEDIA_RETENTION_DAYS?: number;

  /** `false`: this process runs no downloads nor retention (the API still serves stored files). */
  @IsIn(['true', 'false'])
  MEDIA_WORKER: 'true' | 'false' = 'true';

  /** Downloads in flight at once in this process. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(512)
  MEDIA_CONCURRENCY: number = 8;

  /** How often the worker looks for due items, in ms. */
  @Transform(toNumber)
  @IsInt()
  @Min(10)
  @Max(60_000)
  MEDIA_POLL_MS: number = 500;

  /** Whole-download timeout, in ms (the claim's lease is this plus MEDIA_LEASE_GRACE_SECONDS). */
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  MEDIA_TIMEOUT_MS: number = 300_000;

  /**
   * Seconds a claim's lease outlasts MEDIA_TIMEOUT_MS: the time for a finished download to be recorded. A process
   * that dies mid-download leaves its item to another worker after MEDIA_TIMEOUT_MS plus this.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3600)
  MEDIA_LEASE_GRACE_SECONDS: number = 30;

  /** First retry delay in seconds; doubles per attempt (+ up to 25 % jitter), at most 1 h. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.01)
  @Max(3600)
  MEDIA_RETRY_BASE_SECONDS: number = 10;

  /** Hours after the message arrived that temporary failures are retried before the item is `failed`. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(24 * 30)
  MEDIA_RETRY_HOURS: number = 24;

  /** `true` allows plain http:// media links from payloads (Wablas `url`). */
  @IsIn(['true', 'false'])
  MEDIA_ALLOW_HTTP: 'true' | 'false' = 'false';

  /** `true` allows media links on loopback, private, link-local and metadata addresses. */
  @IsIn(['true', 'false'])
  MEDIA_ALLOW_PRIVATE: 'true' | 'false' = 'false';

  /** HMAC key of signed media URLs (≥ 32 characters); unset = one generated and kept in the database. */
  @IsOptional()
  @IsString()
  @MinLength(32)
  MEDIA_URL_SECRET?: string;

  /** Lifetime of a signed media URL, in seconds. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(7 * 86_400)
  MEDIA_URL_TTL_SECONDS: number = 900;

  /** Origin signed URLs start with (e.g. `https://hub.example.com`); unset = the request's own origin. */
  @IsOptional()
  @Matches(/^https?:\/\/[^/]+(\/.*[^/])?$/, { message: 'MEDIA_PUBLIC_BASE_URL must be an http(s) URL without a trailing slash' })
  MEDIA_PUBLIC_BASE_URL?: string;

  get allowHttp(): boolean {
    return this.MEDIA_ALLOW_HTTP === 'true';
  }

  get allowPrivate(): boolean {
    return this.MEDIA_ALLOW_PRIVATE === 'true';
  }
}

/**
 * Validates the MEDIA_* variables of `env`.
 * @throws Error naming each invalid variable and why (also MEDIA_STORAGE=s3 without MEDIA_S3_BUCKET, or with only
 * one of the two keys).
 */
export function loadMediaConfig(env: NodeJS.ProcessEnv = process.env): MediaConfig {
  const picked: Record<string, unknown> = {};
  for (const key of VARIABLES) if (env[key] !== undefined && env[key] !== '') picked[key] = env[key];
  const config = plainToInstance(MediaConfig, picked);
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: true });
  const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
  if (config.MEDIA_STORAGE === 's3' && !config.MEDIA_S3_BUCKET) lines.push('  MEDIA_S3_BUCKET: required when MEDIA_STORAGE=s3');
  if (!config.MEDIA_S3_ACCESS_KEY_ID !== !config.MEDIA_S3_SECRET_ACCESS_KEY)
    lines.push('  MEDIA_S3_ACCESS_KEY_ID / MEDIA_S3_SECRET_ACCESS_KEY: set both or neither');
  if (lines.length > 0) throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  return config;
}
