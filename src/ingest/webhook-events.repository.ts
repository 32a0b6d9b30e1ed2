import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { keysetPage } from '../common/keyset-page';
import type { Page, PageQueryDto } from '../common/page-query.dto';
import { SqlWhere } from '../common/sql-where';

/**
 * A `webhook_events` row without the exact request bytes (migration InitialSchema): what the list loads. The
 * bigint id as decimal text, `received_at` as Date.
 */
export interface WebhookEventRow {
  id: string;
  provider: string;
  dedupe_key: string;
  received_at: Date;
  content_type: string | null;
  /** The parsed body (jsonb); null when it could not be stored as jsonb. */
  body: unknown;
  state: 'processed' | 'ignored' | 'failed';
  error: string | null;
  event_count: number;
  attempts: number;
}

/** {@link WebhookEventRow} with `raw_body` (bytea, migration HouseOrder): the exact request bytes, null for older rows. */
export interface WebhookEventWithRawRow extends WebhookEventRow {
  raw_body: Buffer | null;
}

/** Every column but `raw_body` (the list must not load the bytes). */
const COLUMNS = 'id, provider, dedupe_key, received_at, content_type, body, state, error, event_count, attempts';

/** The SQL of the raw webhook log as operators read it (table `webhook_events`; writes are IngestRepository's). */
@Injectable()
export class WebhookEventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * One page of stored webhooks, newest received first (keyset pagination, see keysetPage), optionally only of
   * one state and/or provider. Without `raw_body`.
   * @returns the page with its rows and counts.
   * @throws AppError 400 for a cursor that is not ours; the database's error.
   */
  page(f: { state?: string; provider?: string }, q: PageQueryDto): Promise<Page<WebhookEventRow>> {
    const where = new SqlWhere();
    if (f.state) where.add('state = ?', f.state);
    if (f.provider) where.add('provider = ?', f.provider);
    return keysetPage(this.db, {
      select: `SELECT ${COLUMNS}`,
      from: 'FROM webhook_events',
      where,
      query: q,
      sortAt: 'received_at',
      id: 'id',
      idType: 'bigint',
      sortValue: (r) => r.received_at,
      map: (r) => r as unknown as WebhookEventRow,
    });
  }

  /**
   * @param id a webhook event id (digits; check it first: other text is a database error).
   * @returns the stored webhook with its exact bytes, or null when there is none with this id.
   * @throws the database's error.
   */
  async find(id: string): Promise<WebhookEventWithRawRow | null> {
    const [row] = (await this.db.query(`SELECT ${COLUMNS}, raw_body FROM webhook_events WHERE id = $1`, [id])) as WebhookEventWithRawRow[];
    return row ?? null;
  }
}
