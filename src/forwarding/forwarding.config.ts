import { registerEnvNames } from '../config/dotenv';
import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsNumber, Max, Min, validateSync } from 'class-validator';

const toNumber = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));

/** The environment variables this module reads (to move into AppConfig later). */
const VARIABLES = [
  'WEBHOOK_CONCURRENCY',
  'WEBHOOK_MAX_IN_FLIGHT',
  'WEBHOOK_YIELD_ELU',
  'WEBHOOK_YIELD_IN_FLIGHT',
  'WEBHOOK_YIELD_MIN_RATE',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_RETRY_BASE_SECONDS',
  'WEBHOOK_RETRY_HOURS',
  'WEBHOOK_DISABLE_AFTER_HOURS',
  'WEBHOOK_ALLOW_HTTP',
  'WEBHOOK_ALLOW_PRIVATE',
  'WEBHOOK_WORKER',
] as const;
registerEnvNames(VARIABLES);

/**
 * Outgoing webhook settings, validated from `process.env` when the module is built (a bad value stops the app
 * with a message naming the variable). Temporary home: these belong in AppConfig (src/config/app-config.ts).
 */
export class ForwardingConfig {
  /** Deliveries in flight at once per subscription. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(256)
  WEBHOOK_CONCURRENCY: number = 8;

  /** Deliveries in flight at once in this process, over all subscriptions. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(4096)
  WEBHOOK_MAX_IN_FLIGHT: number = 128;

  /**
   * Event-loop utilisation (0–1) at or above which, while this process acknowledges inbound webhooks at
   * WEBHOOK_YIELD_MIN_RATE or more, its deliveries give way to the ingest: the in-flight cap halves every 250 ms down to WEBHOOK_YIELD_IN_FLIGHT and
   * doubles back once the pressure ends (see YieldingCap). 1 turns this off.
   */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(1)
  WEBHOOK_YIELD_ELU: number = 0.8;

  /**
   * Inbound webhooks per second this process must be acknowledging for its deliveries to give way (with
   * WEBHOOK_YIELD_ELU): below it the ingest is not what keeps the process busy.
   */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(1_000_000)
  WEBHOOK_YIELD_MIN_RATE: number = 1000;

  /** Deliveries in flight in this process while they give way to the ingest (WEBHOOK_YIELD_ELU). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(4096)
  WEBHOOK_YIELD_IN_FLIGHT: number = 2;

  /** Whole-request timeout of one delivery attempt, in ms. */
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(120_000)
  WEBHOOK_TIMEOUT_MS: number = 10_000;

  /** First retry delay in seconds (fractions allowed); doubles per attempt, with up to +25 % jitter, capped at 1 h. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.01)
  @Max(3600)
  WEBHOOK_RETRY_BASE_SECONDS: number = 5;

  /** Hours after its creation a delivery is retried before it is `failed`. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(24 * 30)
  WEBHOOK_RETRY_HOURS: number = 72;

  /** Hours a subscription may fail without a single success before it is disabled. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(24 * 365)
  WEBHOOK_DISABLE_AFTER_HOURS: number = 120;

  /** `true` allows plain http:// targets (else https only). */
  @IsIn(['true', 'false'])
  WEBHOOK_ALLOW_HTTP: 'true' | 'false' = 'false';

  /** `true` allows targets on loopback, private, link-local and cloud metadata addresses. */
  @IsIn(['true', 'false'])
  WEBHOOK_ALLOW_PRIVATE: 'true' | 'false' = 'false';

  /** `false`: this process neither fans out nor delivers (the API still works). */
  @IsIn(['true', 'false'])
  WEBHOOK_WORKER: 'true' | 'false' = 'true';

  get allowHttp(): boolean {
    return this.WEBHOOK_ALLOW_HTTP === 'true';
  }

  get allowPrivate(): boolean {
    return this.WEBHOOK_ALLOW_PRIVATE === 'true';
  }
}

/**
 * Validates the WEBHOOK_* variables of `env`.
 * @throws Error naming each invalid variable and why.
 */
export function loadForwardingConfig(env: NodeJS.ProcessEnv = process.env): ForwardingConfig {
  const picked: Record<string, unknown> = {};
  for (const key of VARIABLES) if (env[key] !== undefined && env[key] !== '') picked[key] = env[key];
  const config = plainToInstance(ForwardingConfig, picked);
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
