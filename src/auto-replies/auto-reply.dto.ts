import { ApiProperty, PartialType, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import { PageMetaDto } from '../common/page-meta.dto';

export const MATCH_TYPES = ['exact', 'contains', 'regex'] as const;

export class CreateAutoReplyDto {
  @IsString()
  @Length(1, 100)
  name: string;

  /** `exact`: the whole text (trimmed); `contains`: a substring; `regex`: a JavaScript regular expression. */
  @IsIn(MATCH_TYPES)
  @ApiProperty({ enum: MATCH_TYPES })
  matchType: (typeof MATCH_TYPES)[number];

  @IsString()
  @Length(1, 500)
  pattern: string;

  /** Default true. */
  @IsOptional()
  @IsBoolean()
  caseInsensitive?: boolean;

  /** Text sent back (1–4096 characters). */
  @IsString()
  @Length(1, 4096)
  reply: string;

  /** Only for this session; omitted = every session. */
  @IsOptional()
  @IsUUID()
  sessionId?: string | null;

  /** Also answer in groups (default false). */
  @IsOptional()
  @IsBoolean()
  includeGroups?: boolean;

  /** Default true for new rules (the shipped ping → pong example is disabled). */
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  /** Higher first; the first matching rule answers. */
  @IsOptional()
  @IsInt()
  @Min(-1000)
  @Max(1000)
  @ApiPropertyOptional({ type: 'integer' })
  priority?: number;
}

export class UpdateAutoReplyDto extends PartialType(CreateAutoReplyDto) {}

export class AutoReplyResponseDto {
  id: string;
  name: string;
  @ApiProperty({ enum: MATCH_TYPES }) matchType: string;
  pattern: string;
  caseInsensitive: boolean;
  reply: string;
  @ApiProperty({ nullable: true, type: String }) sessionId: string | null;
  includeGroups: boolean;
  enabled: boolean;
  @ApiProperty({ type: 'integer' })
  priority: number;
  createdAt: string;
  updatedAt: string;
}

export class AutoReplyListDto extends PageMetaDto {
  @ApiProperty({ type: [AutoReplyResponseDto] }) data: AutoReplyResponseDto[];
}
