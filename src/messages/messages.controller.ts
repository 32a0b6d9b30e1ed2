import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags, ApiBadRequestResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiKeyAuth, apiKeyOf } from '../auth/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ListMessagesQueryDto, MessagePageDto, MessageWithRawResponseDto } from './message.dto';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiKeyAuth('read')
@Controller('v1/messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  /** Message history, newest first, with filters; `offset` for shallow pages, `cursor` for deep ones. */
  @Get()
  @ApiOperation({ summary: 'List messages' })
  @ApiOkResponse({ type: MessagePageDto })
  @ApiBadRequestResponse({ description: 'A filter is invalid (the message names it)', type: ErrorResponseDto })
  list(@Query() query: ListMessagesQueryDto, @Req() req: Request): Promise<MessagePageDto> {
    return this.messages.list(query, apiKeyOf(req));
  }

  /** One message with the provider's raw object. */
  @Get(':id')
  @ApiOperation({ summary: 'Get a message' })
  @ApiOkResponse({ type: MessageWithRawResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id') id: string, @Req() req: Request): Promise<MessageWithRawResponseDto> {
    return this.messages.get(id, apiKeyOf(req));
  }
}
