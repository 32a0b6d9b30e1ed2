import { Controller, Get, Query, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { StatsQueryDto, StatsResponseDto } from './stats.dto';
import { StatsService } from './stats.service';

@ApiTags('stats')
@ApiKeyAuth('read')
@Controller('v1/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  /** Totals overall and in the window, per-day series, by type, provider and session, delivery of outgoing messages. */
  @Get()
  @ApiOperation({ summary: 'Message statistics' })
  @ApiOkResponse({ type: StatsResponseDto })
  get(@Query() q: StatsQueryDto, @Req() req: Request): Promise<StatsResponseDto> {
    return this.stats.stats(q, apiKeyOf(req));
  }
}
