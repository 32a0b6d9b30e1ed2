import { Injectable } from '@nestjs/common';
import type { AuthenticatedKey } from '../auth/api-keys.service';
import { AppError } from '../common/app-error';
import type { Page } from '../common/page-query.dto';
import { knownPhone, requireKnownPhone } from '../common/phone';
import { AppConfig } from '../config/app-config';
import type { ListMessagesQueryDto, MessageMediaDto, MessageResponseDto, MessageWithRawResponseDto } from './message.dto';
import { toIso as iso } from '../common/sql-text';
import { MessageRow, MessagesRepository, MessageSummaryRow } from './messages.repository';

/** Moved to the repository; re-exported for the callers outside this folder that still import it from here. */
export { scopeToKey } from './messages.repository';

/** Reads of the message store: history with filters and keyset pagination, single messages. */
@Injectable()
export class MessagesService {
  constructor(
    private readonly repo: MessagesRepository,
    private readonly config: AppConfig,
  ) {}

  /**
   * Lists messages newest first (provider timestamp, then id).
   * @param key the caller; a key limited to sessions sees only theirs.
   * @returns a page; `nextCursor` continues after its last row (null on the last page); `total` counts all matches.
   * @throws AppError 400 for an unparseable `phone` or `cursor`.
   */
  async list(query: ListMessagesQueryDto, key?: AuthenticatedKey): Promise<Page<MessageResponseDto>> {
    const phone = await this.phoneOf(query);
    const page = await this.repo.list({ ...query, phone }, query, key);
    return { ...page, data: page.data.map(toMessageDto) };
  }

  /**
   * One message with its raw provider object.
   * @throws AppError 404 when it does not exist or the key may not see its session.
   */
  async get(id: string, key?: AuthenticatedKey): Promise<MessageWithRawResponseDto> {
    if (!/^\d{1,18}$/.test(id)) throw AppError.notFound('Message');
    const row = await this.repo.findById(id, key);
    if (!row) throw AppError.notFound('Message');
    return { ...toMessageDto(row), raw: row.raw };
  }

  /**
   * The number of messages of the conversations matching `f` (chat E.164 digits or group id, session,
   * conversation, provider) that `key` may see, from the conversations' counters.
   */
  countInConversations(
    f: { phone?: string; sessionId?: string; conversationId?: string; provider?: string },
    key?: AuthenticatedKey,
  ): Promise<number> {
    return this.repo.countFromConversations(f, key);
  }

  /**
   * The newest `limit` messages of one chat (normalised digits or group id) and/or one type, visible to `key`,
   * as rows for seed s3's shape.
   */
  recentSummaries(f: { phone?: string; type?: string | string[] }, limit: number, key?: AuthenticatedKey): Promise<MessageSummaryRow[]> {
    return this.repo.recentSummaries(f, limit, key);
  }

  /**
   * The E.164 digits to look a stored chat up by (`knownPhone`, src/common/phone.ts): valid for libphonenumber-js
   * (DEFAULT_PHONE_REGION for local forms), or the plain digits of a number that already has a contact.
   * @returns the digits, or null for anything else.
   */
  chatPhone(input: string): Promise<string | null> {
    return knownPhone(input, this.config.DEFAULT_PHONE_REGION, (digits) => this.repo.isKnownNumber(digits));
  }

  /**
   * {@link chatPhone} for a request field (`phone` filters).
   * @throws AppError 400 `VALIDATION_FAILED` naming `field` and DEFAULT_PHONE_REGION for a number it does not take.
   */
  requireChatPhone(input: string, field = 'phone'): Promise<string> {
    return requireKnownPhone(input, field, this.config.DEFAULT_PHONE_REGION, (digits) => this.repo.isKnownNumber(digits));
  }

  private async phoneOf(q: ListMessagesQueryDto): Promise<string | undefined> {
    return q.phone === undefined ? undefined : this.requireChatPhone(q.phone);
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The `media` of a message row: the provider's descriptor (`messages.media`) overlaid with its download (`media`). */
function toMediaDto(r: MessageRow): MessageMediaDto | null {
  const d = r.media;
  if (!d && !r.md_id) return null;
  const stored = r.md_state === 'stored' || r.md_state === 'deleted';
  const declaredSize = typeof d?.size === 'number' ? d.size : null;
  return {
    id: r.md_id ?? null,
    providerId: str(d?.id),
    state: r.md_state ?? null,
    error: r.md_error ?? null,
    errorCode: r.md_error_code ?? null,
    mimeType: r.md_mime_type ?? str(d?.mimeType) ?? r.md_declared_mime_type ?? null,
    declaredMimeType: r.md_declared_mime_type ?? str(d?.mimeType),
    size: stored && r.md_size !== null ? Number(r.md_size) : declaredSize,
    sha256: (stored ? r.md_sha256 : null) ?? str(d?.sha256),
    filename: r.md_filename ?? str(d?.filename),
    caption: r.caption ?? str(d?.caption),
    providerUrl: str(d?.url) ?? str(d?.link),
    voice: d?.voice === true,
    animated: d?.animated === true,
  };
}

/** The `/v1` shape of a message row. */
export function toMessageDto(r: MessageRow): MessageResponseDto {
  return {
    id: String(r.id),
    provider: r.provider,
    sessionId: r.session_id,
    conversationId: r.conversation_id,
    externalId: r.external_id ?? null,
    direction: r.direction,
    type: r.type,
    chatId: r.chat_id,
    contact: r.contact_phone ? { phone: r.contact_phone, name: r.contact_name ?? null } : null,
    sender: r.sender ?? null,
    senderName: (r.direction === 'in' ? (r.contact_name ?? r.sender_name) : r.sender_name) ?? null,
    text: r.text ?? null,
    caption: r.caption ?? null,
    media: toMediaDto(r),
    location: r.location ?? null,
    context: r.context ?? null,
    replyToExternalId: r.reply_to_external_id ?? null,
    payload: r.payload ?? null,
    status: r.status,
    statusAt: iso(r.status_at),
    error:
      r.error_code || r.error_title ? { code: r.error_code ?? null, title: r.error_title ?? null, detail: r.error_detail ?? null } : null,
    timestamp: iso(r.provider_timestamp)!,
    createdAt: iso(r.created_at)!,
    readAt: iso(r.read_at),
  };
}
