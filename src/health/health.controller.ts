import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
  type HealthCheckStatus,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../auth/api-key.guard';
import { CLOCK, type Clock } from '../common/clock';
import { SessionsService } from '../sessions/sessions.service';

/** Seed s2's service states. */
export class HealthServicesDto {
  @ApiProperty({ enum: ['up', 'down'], description: 'up while at least one WhatsApp session is connected' }) whatsapp: 'up' | 'down';
  @ApiProperty({ enum: ['up', 'down'], description: 'up when PostgreSQL answered within 3 s' }) database: 'up' | 'down';
}

/** `GET /health`: Terminus' result plus seed s2's `timestamp` and `services`. */
export class HealthResponseDto {
  @ApiProperty({ enum: ['ok', 'error'], description: "Terminus' overall status (503 when `error`)" }) status: HealthCheckStatus;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { database: { status: 'up' } } })
  info?: Partial<HealthIndicatorResult>;
  @ApiProperty({ type: 'object', additionalProperties: true, example: {} }) error?: Partial<HealthIndicatorResult>;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { database: { status: 'up' } } }) details: HealthIndicatorResult;
  @ApiProperty({ example: '2025-06-16T10:00:00.000Z', description: 'When the check ran (ISO 8601 UTC)' }) timestamp: string;
  @ApiProperty({ type: HealthServicesDto }) services: HealthServicesDto;
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly sessions: SessionsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * 200 `{ status: "ok", info: { database: { status: "up", responseTime } }, error: {}, details, timestamp, services: { whatsapp,
   * database } }` when the database answers within 3 s; 503 with `status: "error"` otherwise. Terminus' fields
   * for its clients, seed s2's "Health Check Endpoint" `timestamp` and `services` beside them; `whatsapp` is `up`
   * while a session is connected and never makes the check fail (a new install has no session yet).
   */
  @Get()
  @ApiOperation({ summary: 'Database check and service states (no key)' })
  @ApiOkResponse({ type: HealthResponseDto })
  @ApiServiceUnavailableResponse({ type: HealthResponseDto, description: 'The database did not answer' })
  async check(@Res({ passthrough: true }) res: Response): Promise<HealthResponseDto> {
    const timestamp = new Date(this.clock.now()).toISOString();
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.db.pingCheck('database', { timeout: 3000 })]);
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      result = e.getResponse() as HealthCheckResult;
      res.status(503);
    }
    const database = result.details?.database?.status === 'up' ? 'up' : 'down';
    return { ...result, timestamp, services: { whatsapp: database === 'up' ? await this.whatsapp() : 'down', database } };
  }

  private async whatsapp(): Promise<'up' | 'down'> {
    try {
      const { connected } = await this.sessions.summary(this.sessions.filters({}));
      return connected > 0 ? 'up' : 'down';
    } catch {
      return 'down';
    }
  }
}
