import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** `PUT /v1/session-defaults/:provider`. */
export class SetSessionDefaultDto {
  @ApiProperty({
    example: 'user-456',
    minLength: 1,
    maxLength: 128,
    description: "Owner id in your system (seed s4 `userId`) for the provider's sessions that have no owner of their own",
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  userId: string;
}

/** The default owner of one provider's sessions. Timestamps are ISO 8601 UTC. */
export class SessionDefaultDto {
  @ApiProperty({ example: 'wwebjs', description: 'Provider name' })
  provider: string;

  @ApiProperty({ example: 'user-456', description: 'The owner of the sessions of this provider that have no `userId` of their own' })
  userId: string;

  @ApiProperty({
    type: 'integer',
    example: 3,
    description: "The provider's sessions that have no owner of their own, hence this one (`userIdSource: inherited`)",
  })
  sessions: number;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ example: '2026-12-01T10:05:00.000Z' })
  updatedAt: string;
}

/** `GET /v1/session-defaults`: every provider that has a default owner, by name. */
export class SessionDefaultListDto {
  @ApiProperty({ type: [SessionDefaultDto] })
  data: SessionDefaultDto[];
}
