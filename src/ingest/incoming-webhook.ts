import type { Request } from 'express';

/**
 * A webhook request as ingest takes it, from any provider route (controller, compat route or the fast lane).
 * Built by {@link IncomingWebhook.fromRequest} only, so every route keeps the same bytes.
 */
export interface IncomingWebhook {
  /**
   * The exact request bytes, whatever the content type: stored losslessly (`webhook_events.raw_body`) and hashed
   * for the dedupe key, so two different bodies never share a key.
   */
  rawBody: Buffer;
  /** The parsed body: JSON, form fields, or null for any other content type (normalisers see `unknown`). */
  body: unknown;
  contentType: string | null;
}

/** A request after the body parsers: `rawBody` is set by every parser wa-hub installs on webhook routes. */
export type ParsedRequest = Pick<Request, 'headers' | 'body'> & { rawBody?: Buffer };

export const IncomingWebhook = {
  /**
   * The one request → webhook adapter. JSON and form bodies keep the bytes they were parsed from; any other
   * content type arrives as bytes (the raw parser) with `body` null.
   */
  fromRequest(req: ParsedRequest): IncomingWebhook {
    const raw = Buffer.isBuffer(req.body) ? req.body : req.rawBody;
    const body = Buffer.isBuffer(req.body) ? null : (req.body ?? null);
    return { rawBody: raw ?? Buffer.alloc(0), body, contentType: req.headers['content-type'] ?? null };
  },
};
