import { ApiProperty } from '@nestjs/swagger';

/** Response shapes of seed s0 (Odoo WhatsApp Headless), field for field. */

export class OdooMessageDto {
  @ApiProperty({ type: 'integer', example: 82 })
  id: number;

  @ApiProperty({ example: '2026-02-16 07:51:30', description: 'UTC, "YYYY-MM-DD HH:MM:SS"' })
  time: string;

  @ApiProperty({ example: '6285137033257', description: 'Contact phone (person in conversation)' })
  sender_number: string;

  @ApiProperty({ example: 'Unknown', description: 'Contact book name, else "Unknown" (seed s0 "Contact Name Lookup")' })
  sender_name: string;

  @ApiProperty({ example: 'sudah mi ka' })
  message: string;

  @ApiProperty({ enum: ['in', 'out'] })
  direction: string;
}

export class OdooHistoryDto {
  @ApiProperty({ example: 'success' }) status: string;
  @ApiProperty({ type: 'integer', example: 2 }) count: number;
  @ApiProperty({ type: 'integer', example: 76 }) total: number;
  @ApiProperty({ type: 'integer', example: 50 }) limit: number;
  @ApiProperty({ type: 'integer', example: 0 }) offset: number;
  @ApiProperty({ type: [OdooMessageDto] }) data: OdooMessageDto[];
}

export class OdooConversationDto {
  @ApiProperty({ example: 'success' }) status: string;
  @ApiProperty({ example: '6285137033257' }) phone: string;
  @ApiProperty({ type: 'integer', example: 5 }) count: number;
  @ApiProperty({ type: [OdooMessageDto] }) messages: OdooMessageDto[];
}

export class OdooWebhookAckDto {
  @ApiProperty({ example: 'success' }) status: string;
  @ApiProperty({ example: 'Message received' }) message: string;
  @ApiProperty({ example: 76, nullable: true, description: 'Id of the stored message (null for tracking callbacks)' }) record_id:
    number | null;
}

/**
 * Seed s0 `POST /api/wa/send_message` body (checked by the controller in the seed's words: "Missing required
 * parameter: phone", "Phone number format invalid"; other fields are ignored, as the seed does).
 */
export class OdooSendMessageDto {
  @ApiProperty({ example: '6285137033257', description: 'Recipient number in any common form (a JSON number works too)' })
  phone: string;

  @ApiProperty({ example: 'Hello from Odoo', description: 'Text, at most 4096 characters' })
  message: string;
}

/** Seed s0's send answer; `record_id` is the wa-hub message id (GET /v1/messages/:id shows the delivery). */
export class OdooSendAckDto {
  @ApiProperty({ example: 'success' }) status: string;
  @ApiProperty({ example: 'Message queued for sending' }) message: string;
  @ApiProperty({ type: 'integer', example: 83 }) record_id: number;
}
