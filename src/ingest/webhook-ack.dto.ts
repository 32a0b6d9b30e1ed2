import { ApiProperty } from '@nestjs/swagger';

/** Answer to a provider webhook, sent after the raw event is committed. */
export class WebhookAckDto {
  @ApiProperty({ example: true })
  received: boolean;

  /** Id of the stored raw event (see GET /v1/webhook-events). */
  @ApiProperty({ example: '42' })
  webhookEventId: string;

  /** processed: stored as messages/statuses; ignored: understood, nothing to store; failed: kept raw, see its error. */
  @ApiProperty({ enum: ['processed', 'ignored', 'failed'], example: 'processed' })
  state: 'processed' | 'ignored' | 'failed';
}
