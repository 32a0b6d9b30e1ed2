import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsUUID, Max, Min } from 'class-validator';

export class StatsQueryDto {
  /** Window length in days ending now (default 7); ignored when `from` is given. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3660)
  @ApiPropertyOptional({ type: 'integer' })
  days?: number;

  /** Window start (ISO 8601). */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /** Window end, exclusive (ISO 8601; default now). */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @IsOptional()
  @IsUUID()
  sessionId?: string;
}

export class CountsDto {
  @ApiProperty({ type: 'integer', example: 82 }) total: number;
  @ApiProperty({ type: 'integer', example: 45 }) incoming: number;
  @ApiProperty({ type: 'integer', example: 37 }) outgoing: number;
  @ApiProperty({ type: 'integer', example: 12, description: 'Distinct 1:1 chats' }) uniqueContacts: number;
}

export class DayCountDto {
  @ApiProperty({ example: '2026-11-20', description: 'UTC day' }) date: string;
  @ApiProperty({ type: 'integer', example: 10 }) incoming: number;
  @ApiProperty({ type: 'integer', example: 7 }) outgoing: number;
}

export class SessionCountDto {
  @ApiProperty({ format: 'uuid' }) sessionId: string;
  @ApiProperty({ example: 'meta' }) provider: string;
  @ApiProperty({ example: '106540352242922' }) externalId: string;
  @ApiProperty({ type: 'integer', example: 40 }) count: number;
}

export class DeliveryDto {
  @ApiProperty({
    example: { sent: 3, delivered: 10, read: 20, played: 0, failed: 1, pending: 0, queued: 0 },
    description: 'Outgoing messages in the window by current status',
  })
  byStatus: Record<string, number>;

  @ApiProperty({ nullable: true, example: 2.5, description: 'Median seconds from sending to delivered' }) medianSecondsToDelivered:
    number | null;
  @ApiProperty({ nullable: true, example: 95, description: 'Median seconds from sending to read' }) medianSecondsToRead: number | null;
}

/** Statistics of the message store. Windows are [from, to) in UTC. */
export class StatsResponseDto {
  @ApiProperty({ example: '2026-11-14T10:00:00.000Z' }) from: string;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) to: string;
  @ApiProperty({ type: CountsDto, description: 'Everything stored' }) overall: CountsDto;
  @ApiProperty({ type: CountsDto, description: 'Messages in the window' }) window: CountsDto;
  @ApiProperty({ type: [DayCountDto] }) perDay: DayCountDto[];
  @ApiProperty({ example: { text: 50, image: 4 } }) byType: Record<string, number>;
  @ApiProperty({ example: { meta: 40, wablas: 14 } }) byProvider: Record<string, number>;
  @ApiProperty({ type: [SessionCountDto] }) bySession: SessionCountDto[];
  @ApiProperty({ type: DeliveryDto }) delivery: DeliveryDto;
}
