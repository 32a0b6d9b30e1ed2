import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { InboundEvent, WebhookNormalizer } from '../../domain/inbound-event';
import { IncomingWebhook } from '../../ingest/incoming-webhook';
import type { IngestResult } from '../../ingest/ingest.types';
import { IngestService, type IngestOptions } from '../../ingest/ingest.service';
import { SessionsService } from '../../sessions/sessions.service';
import { WablasNormalizer, wablasIdentifiers } from './wablas.normalizer';

/** A known session's identifiers, as {@link resolveWablasSession} reads them. */
export interface KnownWablasSession {
  external_id: string;
  display_number: string | null;
}

/**
 * The provider id of the existing session a Wablas body belongs to, whichever of the number's identifiers it
 * carries: the session keyed by its `deviceId`, else the one keyed by (or numbered) its device number `sender`.
 * @param known sessions found by those identifiers (SessionsService.findByIdentifiers).
 * @returns undefined when none is known: the normalizer's own choice (deviceId, else sender, else "default").
 */
export function resolveWablasSession(
  ids: { deviceId: string | null; number: string | null },
  known: readonly KnownWablasSession[],
): string | undefined {
  if (ids.deviceId && known.some((s) => s.external_id === ids.deviceId)) return ids.deviceId;
  if (!ids.number) return undefined;
  return (known.find((s) => s.external_id === ids.number) ?? known.find((s) => s.display_number === ids.number))?.external_id;
}

/**
 * Stores one Wablas webhook (the canonical route and seed s0's `/api/wa/webhook`). One Wablas number is one
 * session whichever identifier a payload carries: Wablas' own bodies carry `deviceId` and the device number
 * (`sender`), seed s0's debug curl only `sender`; a body is applied to the session already known by either, so a
 * second session never appears for the same number (which made sends without a session id ambiguous).
 */
@Injectable()
export class WablasIngest {
  constructor(
    private readonly ingest: IngestService,
    private readonly normalizer: WablasNormalizer,
    private readonly sessions: SessionsService,
  ) {}

  /** @returns what became of the webhook (IngestService.ingest, with `options`). */
  async receive(req: Request & { rawBody?: Buffer }, options: IngestOptions = {}): Promise<IngestResult> {
    const webhook = IncomingWebhook.fromRequest(req);
    const ids = wablasIdentifiers(webhook.body);
    const candidates = [ids.deviceId, ids.number].filter((x): x is string => x !== null);
    const known = candidates.length ? await this.sessions.findByIdentifiers('wablas', candidates, ids.number) : [];
    const externalId = resolveWablasSession(ids, known);
    const normalizer: WebhookNormalizer =
      externalId === undefined
        ? this.normalizer
        : { normalize: (body, receivedAt) => this.normalizer.normalize(body, receivedAt).map((e) => onSession(e, externalId)) };
    return this.ingest.ingest('wablas', normalizer, webhook, options);
  }
}

function onSession(e: InboundEvent, externalId: string): InboundEvent {
  return 'session' in e && e.session ? { ...e, session: { ...e.session, externalId } } : e;
}
