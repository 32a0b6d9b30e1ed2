import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { toIso, UUID_RE } from '../common/sql-text';
import { SendingService } from '../sending/sending.service';
import { IngestService } from '../ingest/ingest.service';
import { type AutoReplyFields, type AutoReplyRow, AutoRepliesRepository } from './auto-replies.repository';
import type { AutoReplyResponseDto, CreateAutoReplyDto, UpdateAutoReplyDto } from './auto-reply.dto';

/** A rule with its regular expression compiled (null unless `match_type` is regex and the pattern compiles). */
type CompiledRule = AutoReplyRow & { regex: RegExp | null };
/** Enabled rules are re-read at most this often (ms); writes through the API refresh them at once. */
const RULES_TTL_MS = 2000;

/**
 * Auto-reply rules and their application. After a webhook with an inbound text is committed, the enabled rules
 * are matched (priority order, first match answers) and the reply is queued through the outbox like any send.
 * Never answered: our own messages and echoes (they are stored as direction `out`), groups unless the rule says
 * so, and the same inbound message twice (a unique index on the outbox's `trigger_message_id`).
 */
@Injectable()
export class AutoRepliesService implements OnModuleInit {
  private readonly log = new Logger(AutoRepliesService.name);
  private rules?: { at: number; rows: CompiledRule[] };

  constructor(
    private readonly repo: AutoRepliesRepository,
    private readonly ingest: IngestService,
    private readonly sending: SendingService,
  ) {}

  onModuleInit(): void {
    this.ingest.onInboundText((ids) => void this.answer(ids).catch((e) => this.log.warn(`auto-reply failed: ${(e as Error).message}`)));
  }

  /**
   * Matches the enabled rules against these messages (wa-hub message ids; only inbound texts are considered) and
   * queues one reply per matched message. Send errors are logged, never thrown (this runs after the webhook's answer).
   */
  async answer(messageIds: string[]): Promise<void> {
    const rules = await this.enabledRules();
    if (rules.length === 0) return;
    const messages = await this.repo.inboundTexts(messageIds);
    for (const m of messages) {
      const rule = rules.find(
        (r) => (!r.session_id || r.session_id === m.session_id) && (!m.is_group || r.include_groups) && matches(r, m.text),
      );
      if (!rule) continue;
      try {
        await this.sending.send(
          { sessionId: m.session_id, to: m.chat_id, type: 'text', text: { body: rule.reply } },
          undefined,
          undefined,
          String(m.id),
        );
      } catch (e) {
        // Already answered (a retried webhook) is expected; anything else is worth a line.
        const err = e as AppError & { driverError?: { code?: string } };
        if (err.code !== 'CONFLICT' && err.driverError?.code !== '23505') this.log.warn(`auto-reply to message ${m.id}: ${err.message}`);
      }
    }
  }

  private async enabledRules(): Promise<CompiledRule[]> {
    if (!this.rules || Date.now() - this.rules.at > RULES_TTL_MS) {
      const at = Date.now();
      this.rules = { at, rows: (await this.repo.listEnabled()).map((r) => ({ ...r, regex: compile(r) })) };
    }
    return this.rules.rows;
  }

  /**
   * Adds a rule (enabled unless `enabled: false`, case-insensitive unless `caseInsensitive: false`).
   * @throws AppError 400 naming `pattern` for an invalid regular expression.
   */
  async create(dto: CreateAutoReplyDto): Promise<AutoReplyResponseDto> {
    checkPattern(dto.matchType, dto.pattern);
    const row = await this.repo.insert({
      name: dto.name,
      match_type: dto.matchType,
      pattern: dto.pattern,
      case_insensitive: dto.caseInsensitive ?? true,
      reply: dto.reply,
      session_id: dto.sessionId ?? null,
      include_groups: dto.includeGroups ?? false,
      enabled: dto.enabled ?? true,
      priority: dto.priority ?? 0,
    });
    this.rules = undefined;
    return toDto(row);
  }

  /** Every rule, enabled or not, highest priority first (then oldest). */
  async list(): Promise<AutoReplyResponseDto[]> {
    return (await this.repo.list()).map(toDto);
  }

  /** @throws AppError 404 */
  async get(id: string): Promise<AutoReplyResponseDto> {
    return toDto(await this.row(id));
  }

  /** @throws AppError 404, 400 for an invalid regular expression. */
  async update(id: string, dto: UpdateAutoReplyDto): Promise<AutoReplyResponseDto> {
    const cur = await this.row(id);
    const next: AutoReplyFields = {
      name: dto.name ?? cur.name,
      match_type: dto.matchType ?? cur.match_type,
      pattern: dto.pattern ?? cur.pattern,
      case_insensitive: dto.caseInsensitive ?? cur.case_insensitive,
      reply: dto.reply ?? cur.reply,
      session_id: dto.sessionId !== undefined ? dto.sessionId : cur.session_id,
      include_groups: dto.includeGroups ?? cur.include_groups,
      enabled: dto.enabled ?? cur.enabled,
      priority: dto.priority ?? cur.priority,
    };
    checkPattern(next.match_type, next.pattern);
    const row = await this.repo.update(id, next);
    this.rules = undefined;
    return toDto(row!); // deleted meanwhile: as before, no 404 for this race
  }

  /** @throws AppError 404 */
  async delete(id: string): Promise<AutoReplyResponseDto> {
    const row = await this.row(id);
    await this.repo.delete(id);
    this.rules = undefined;
    return toDto(row);
  }

  private async row(id: string): Promise<AutoReplyRow> {
    if (!UUID_RE.test(id)) throw AppError.notFound('Auto-reply');
    const row = await this.repo.find(id);
    if (!row) throw AppError.notFound('Auto-reply');
    return row;
  }
}

function compile(r: AutoReplyRow): RegExp | null {
  if (r.match_type !== 'regex') return null;
  try {
    return new RegExp(r.pattern, r.case_insensitive ? 'iu' : 'u');
  } catch {
    return null;
  }
}

function checkPattern(matchType: string, pattern: string): void {
  if (matchType !== 'regex') return;
  try {
    new RegExp(pattern, 'u');
  } catch (e) {
    throw AppError.badRequest(`pattern is not a valid regular expression: ${(e as Error).message}`, [
      { field: 'pattern', errors: ['invalid regular expression'] },
    ]);
  }
}

/** Whether an inbound text matches a rule (`exact` compares the trimmed text). */
export function matches(r: Pick<CompiledRule, 'match_type' | 'pattern' | 'case_insensitive' | 'regex'>, text: string): boolean {
  const fold = (s: string) => (r.case_insensitive ? s.toLocaleLowerCase() : s);
  if (r.match_type === 'exact') return fold(text.trim()) === fold(r.pattern);
  if (r.match_type === 'contains') return fold(text).includes(fold(r.pattern));
  return r.regex ? r.regex.test(text.slice(0, 4096)) : false;
}

function toDto(r: AutoReplyRow): AutoReplyResponseDto {
  return {
    id: r.id,
    name: r.name,
    matchType: r.match_type,
    pattern: r.pattern,
    caseInsensitive: r.case_insensitive,
    reply: r.reply,
    sessionId: r.session_id ?? null,
    includeGroups: r.include_groups,
    enabled: r.enabled,
    priority: r.priority,
    createdAt: toIso(r.created_at)!,
    updatedAt: toIso(r.updated_at)!,
  };
}
