import { Injectable } from '@nestjs/common';
import { arr, isObj, num, Obj, objs, parseTimestamp, pick, str } from '../../common/guards';
import { waIdToDigits } from '../../common/phone';
import type { LocationInfo, MediaInfo, MessageStatus, MessageType } from '../../domain/message';
import type { InboundEvent, InboundMessage, SessionRef, WebhookNormalizer } from '../../domain/inbound-event';

const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker']);
const KNOWN_TYPES = new Set<string>([
  'text',
  'image',
  'video',
  'audio',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'order',
  'system',
  'unsupported',
]);
// Meta status values → ours; `played` is sent for voice notes (fixture meta.inbound.status_played).
const STATUS_MAP: Record<string, MessageStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  played: 'played',
  failed: 'failed',
};

/**
 * Normalises WhatsApp Cloud API webhook bodies (`object: "whatsapp_business_account"`) into canonical events.
 * Walks every `entry[] × changes[] × messages[] / statuses[] / errors[]` (Meta batches up to 1,000 notifications
 * per POST) and routes each change by its own `value.metadata.phone_number_id`.
 * Source: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components and the fixtures in
 * shared/fixtures/providers/meta/inbound.
 */
@Injectable()
export class MetaNormalizer implements WebhookNormalizer {
  normalize(body: unknown, receivedAt: Date): InboundEvent[] {
    if (!isObj(body) || body.object !== 'whatsapp_business_account' || !Array.isArray(body.entry)) {
      return [
        {
          kind: 'unrecognized',
          reason: 'not a WhatsApp Business Account webhook (expected object "whatsapp_business_account" with entry[])',
        },
      ];
    }
    const events: InboundEvent[] = [];
    for (const entry of objs(body.entry)) {
      for (const change of objs(entry.changes)) {
        events.push(...this.normalizeChange(change, receivedAt));
      }
    }
    if (events.length === 0) events.push({ kind: 'ignored', reason: 'webhook has no changes' });
    return events;
  }

  private normalizeChange(change: Obj, receivedAt: Date): InboundEvent[] {
    const field = str(change.field) ?? '(none)';
    const value = change.value;
    if (field !== 'messages') return [{ kind: 'ignored', reason: `field "${field}" is not stored` }];
    if (!isObj(value)) return [{ kind: 'unrecognized', reason: 'change.value is not an object' }];
    const metadata = isObj(value.metadata) ? value.metadata : {};
    const phoneNumberId = str(metadata.phone_number_id);
    if (!phoneNumberId) return [{ kind: 'unrecognized', reason: 'change.value.metadata.phone_number_id is missing' }];
    const session: SessionRef = {
      provider: 'meta',
      externalId: phoneNumberId,
      displayNumber: waIdToDigits(str(metadata.display_phone_number)),
    };
    // value.contacts[] names the senders of value.messages[] (absent for system messages).
    const names = new Map<string, string>();
    for (const c of objs(value.contacts)) {
      const waId = str(c.wa_id);
      const name = isObj(c.profile) ? str(c.profile.name) : undefined;
      if (waId && name) names.set(waId, name);
    }
    const events: InboundEvent[] = [];
    for (const m of objs(value.messages)) {
      const message = this.toMessage(m, names, receivedAt);
      events.push(message ? { kind: 'message', session, message } : { kind: 'unrecognized', reason: 'message without id or from' });
      // A reaction is kept as its own row and also folded onto the message it reacts to.
      if (message?.type === 'reaction' && message.replyToExternalId && message.sender) {
        events.push({
          kind: 'reaction',
          session,
          targetExternalId: message.replyToExternalId,
          sender: message.sender,
          emoji: message.text ?? null,
          timestamp: message.timestamp,
        });
      }
    }
    for (const s of objs(value.statuses)) {
      const id = str(s.id);
      const status = STATUS_MAP[str(s.status) ?? ''];
      if (!id || !status) {
        events.push({ kind: 'unrecognized', reason: `status "${String(s.status)}" for "${String(s.id)}" is not understood` });
        continue;
      }
      const err = objs(s.errors)[0];
      events.push({
        kind: 'status',
        session,
        status: {
          externalId: id,
          status,
          timestamp: parseTimestamp(s.timestamp) ?? receivedAt,
          recipient: str(s.recipient_id) ?? null,
          error: err ? metaError(err) : null,
          payload:
            pick(s, {
              conversation: 'conversation',
              pricing: 'pricing',
              biz_opaque_callback_data: 'bizOpaqueCallbackData',
              errors: 'errors',
            }) ?? null,
        },
      });
    }
    for (const e of objs(value.errors)) {
      events.push({ kind: 'provider_error', session, error: { ...metaError(e), raw: e }, timestamp: receivedAt });
    }
    if (events.length === 0) events.push({ kind: 'ignored', reason: 'change has no messages, statuses or errors' });
    return events;
  }

  private toMessage(m: Obj, names: Map<string, string>, receivedAt: Date): InboundMessage | null {
    const id = str(m.id);
    const from = str(m.from);
    if (!id || !from) return null;
    const rawType = str(m.type) ?? 'unknown';
    const phone = waIdToDigits(from) ?? from;
    const context = isObj(m.context) ? m.context : undefined;
    const msg: InboundMessage = {
      externalId: id,
      direction: 'in',
      type: KNOWN_TYPES.has(rawType) ? (rawType as MessageType) : 'unknown',
      chatId: phone,
      isGroup: false,
      contact: { phone, profileName: names.get(from) ?? null },
      sender: phone,
      senderName: names.get(from) ?? null,
      timestamp: parseTimestamp(m.timestamp) ?? receivedAt,
      context: context || isObj(m.referral) ? { ...(context ?? {}), ...(isObj(m.referral) ? { referral: m.referral } : {}) } : null,
      replyToExternalId: context ? (str(context.id) ?? null) : null,
      raw: m,
    };
    const body = isObj(m[rawType]) ? (m[rawType] as Obj) : undefined;
    if (rawType === 'text' && body) msg.text = str(body.body) ?? null;
    else if (MEDIA_TYPES.has(rawType) && body) {
      msg.caption = str(body.caption) ?? null;
      msg.media = metaMedia(body);
      if (rawType === 'audio' && body.voice === true) msg.type = 'voice';
    } else if (rawType === 'location' && body) msg.location = metaLocation(body);
    else if (rawType === 'reaction' && body) {
      // An empty emoji means the user removed their reaction (fixture meta.inbound.reaction_removed).
      const emoji = str(body.emoji) ?? null;
      msg.payload = { messageId: str(body.message_id) ?? null, emoji, removed: emoji === null };
      msg.replyToExternalId = str(body.message_id) ?? null;
      msg.text = emoji;
    } else if (rawType === 'interactive') {
      // value_errors_131000: an interactive message may arrive without its interactive object.
      const reply = body ? (objs([body.button_reply, body.list_reply, body.nfm_reply])[0] ?? undefined) : undefined;
      msg.payload = body ? { interactiveType: str(body.type) ?? null, ...(reply ?? {}) } : null;
      msg.text = reply ? (str(reply.title) ?? null) : null;
    } else if (rawType === 'button' && body) {
      msg.payload = { payload: str(body.payload) ?? null, text: str(body.text) ?? null };
      msg.text = str(body.text) ?? null;
    } else if (rawType === 'contacts') {
      msg.payload = { contacts: arr(m.contacts) };
      msg.text =
        objs(m.contacts)
          .map((c) => (isObj(c.name) ? str(c.name.formatted_name) : undefined))
          .filter(Boolean)
          .join(', ') || null;
    } else if (rawType === 'order' && body) {
      msg.payload = { catalogId: str(body.catalog_id) ?? null, productItems: arr(body.product_items) };
      msg.text = str(body.text) ?? null;
    } else if (rawType === 'system' && body) {
      // user_changed_number: system.wa_id is the sender's new number (fixture meta.inbound.system_user_changed_number).
      msg.payload = { systemType: str(body.type) ?? null, newWaId: str(body.wa_id) ?? null, identity: m.identity ?? null };
      msg.text = str(body.body) ?? null;
    } else if (rawType === 'unsupported') {
      const err = objs(m.errors)[0];
      msg.payload = err ? { error: metaError(err) } : null;
    }
    if (Array.isArray(m.errors) && msg.payload === undefined) msg.payload = { errors: m.errors };
    return msg;
  }
}

function metaMedia(b: Obj): MediaInfo {
  const media: MediaInfo = {};
  if (str(b.id)) media.id = str(b.id);
  if (str(b.url)) media.url = str(b.url);
  if (str(b.mime_type)) media.mimeType = str(b.mime_type);
  if (str(b.sha256)) media.sha256 = str(b.sha256);
  if (str(b.filename)) media.filename = str(b.filename);
  if (typeof b.voice === 'boolean') media.voice = b.voice;
  if (typeof b.animated === 'boolean') media.animated = b.animated;
  return media;
}

function metaLocation(b: Obj): LocationInfo | null {
  const latitude = num(b.latitude);
  const longitude = num(b.longitude);
  if (latitude === undefined || longitude === undefined) return null;
  return { latitude, longitude, ...pick(b, { name: 'name', address: 'address', url: 'url' }) };
}

/** Meta error object → code/title/detail; older payloads carry only code + title (fixture status_failed_131026_minimal). */
function metaError(e: Obj): { code: string | null; title: string | null; detail: string | null } {
  const data = isObj(e.error_data) ? e.error_data : {};
  return {
    code: str(e.code) ?? null,
    title: str(e.title) ?? str(e.message) ?? null,
    detail: str(data.details) ?? str(e.message) ?? null,
  };
}
