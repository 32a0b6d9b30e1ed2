import { Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { PageQueryDto } from '../common/page-query.dto';
import { MessagePageDto } from '../messages/message.dto';
import { MessagesService } from '../messages/messages.service';
import { ConversationPageDto, ListConversationsQueryDto, MarkReadResponseDto } from './conversation.dto';
import { ConversationsService } from './conversations.service';

@ApiTags('conversations')
@ApiKeyAuth('read')
@Controller('v1/conversations')
export class ConversationsController {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
  ) {}

  /** Conversations, most recent first, with message and unread counts. */
  @Get()
  @ApiOperation({ summary: 'List conversations' })
  @ApiOkResponse({ type: ConversationPageDto })
  list(@Query() query: ListConversationsQueryDto, @Req() req: Request): Promise<ConversationPageDto> {
    return this.conversations.list(query, apiKeyOf(req));
  }

  /**
   * Marks the conversation read: unread count to zero, inbound messages to `read` (with `readAt`); providers with
   * read receipts (Meta `status: read`) get one for the newest inbound message, through the outbox.
   */
  @Post(':id/read')
  @HttpCode(200)
  @ApiKeyAuth('send')
  @ApiOperation({ summary: 'Mark a conversation read' })
  @ApiOkResponse({ type: MarkReadResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async markRead(@Param('id') id: string, @Req() req: Request): Promise<MarkReadResponseDto> {
    return this.conversations.markRead(id, apiKeyOf(req));
  }

  /** A conversation's messages, newest first. */
  @Get(':id/messages')
  @ApiOperation({ summary: "List a conversation's messages" })
  @ApiOkResponse({ type: MessagePageDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async messagesOf(@Param('id') id: string, @Query() query: PageQueryDto, @Req() req: Request): Promise<MessagePageDto> {
    await this.conversations.assertVisible(id, apiKeyOf(req));
    return this.messages.list({ ...query, conversationId: id }, apiKeyOf(req));
  }
}
