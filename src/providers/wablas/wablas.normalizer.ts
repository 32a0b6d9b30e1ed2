import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { isObj, Obj, parseTimestamp, str } from '../../common/guards';
import { waIdToDigits } from '../../common/phone';
import type { MessageStatus, MessageType } from '../../domain/message';
import type { InboundEvent, InboundMessage, SessionRef, WebhookNormalizer } from '../../domain/inbound-event';

const TYPES: Record<string, MessageType> = {
  text: 'text',
  image: 'image',
  video: 'video',
  audio: 'audio',
  voice: 'voice',
  document: 'document',
  file: 'document',
  sticker: 'sticker',
  location: 'location',
};
// Wablas does not document its tracking status values (fixture wablas.inbound.tracking_status); these are the
// ones integrators report. Anything else is kept raw and reported, not applied.
const TRACKING: Record<string, MessageStatus> = {
  pending: 'pending',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
  cancel: 'failed',
  rejected: 'failed',
};

/**
 * Normalises Wablas webhook bodies: incoming/echoed messages (`id`, `phone`, `message`, `messageType`, `deviceId`,
 * `isFromMe`, ...), older servers' form-urlencoded messages (all values strings, no `deviceId`), and delivery
 * `tracking` callbacks (`id`, `status`, no `message` key).
 * Source: Wablas' official PHP receiver sample and https://wablas.com/documentation/api, via the fixtures in
 * shared/fixtures/providers/wablas/inbound (all RECONSTRUCTED: no real capture exists).
 */
@Injectable()
export class WablasNormalizer implements WebhookNormalizer {
  normalize(body: unknown, receivedAt: Date): InboundEvent[] {
    if (!isObj(body)) return [{ kind: 'unrecognized', reason: 'Wablas webhook body is not an object' }];
    const phone = str(body.phone);
    if (!phone) return [{ kind: 'unrecognized', reason: 'Wablas webhook without "id" and "phone"' }];
    // Seed s0's Troubleshooting curl posts `{phone, message, isFromMe, sender}` without an id, and the seed stores it
    // as a message: such a body gets an id made from its content, so a retry of the same body is one message.
    const id = str(body.id) ?? (body.message !== undefined ? contentId(body) : undefined);
    if (!id) return [{ kind: 'unrecognized', reason: 'Wablas webhook without "id" (nor a "message")' }];
    const session = wablasSession(body);
    if (body.message === undefined && str(body.status)) {
      const status = TRACKING[str(body.status)!.toLowerCase()];
      if (!status) return [{ kind: 'unrecognized', reason: `Wablas tracking status "${String(body.status)}" is not understood` }];
      return [
        {
          kind: 'status',
          session,
          status: {
            externalId: id,
            status,
            timestamp: parseTimestamp(body.timestamp) ?? receivedAt,
            recipient: waIdToDigits(phone),
            error: status === 'failed' ? { code: null, title: str(body.status) ?? null, detail: str(body.note) ?? null } : null,
            payload: str(body.note) ? { note: body.note } : null,
          },
        },
      ];
    }
    return [{ kind: 'message', session, message: this.toMessage(body, id, phone, receivedAt) }];
  }

  private toMessage(b: Obj, id: string, phone: string, receivedAt: Date): InboundMessage {
    const fromMe = truthy(b.isFromMe);
    const digits = waIdToDigits(phone) ?? phone;
    const isGroup = truthy(b.isGroup) || !!str(b.groupId);
    const group = isObj(b.group) ? b.group : {};
    const groupId = str(group.group_id) ?? str(b.groupId);
    const subject = str(group.subject) ?? str(b.groupSubject) ?? null;
    // pushName is the sender's profile name; on our own echoes it is our name, and some servers put a JID there.
    const pushName = str(b.pushName);
    const name = pushName && !fromMe && !pushName.includes('@') && pushName !== phone ? pushName : null;
    const url = str(b.url);
    const type = wablasType(b);
    const text = str(b.message) ?? null;
    const isMedia = type !== 'text' && type !== 'location';
    return {
      externalId: id,
      direction: fromMe ? 'out' : 'in',
      type,
      chatId: isGroup ? `group:${groupId ?? subject ?? digits}` : digits,
      isGroup,
      groupSubject: subject,
      contact: isGroup ? null : { phone: digits, profileName: name },
      sender: fromMe ? (waIdToDigits(str(b.sender)) ?? null) : digits,
      senderName: name,
      text: isMedia ? null : text,
      caption: isMedia ? text : null,
      media: isMedia
        ? {
            ...(url ? { url } : {}),
            ...(str(b.mimeType) ? { mimeType: str(b.mimeType) } : {}),
            ...(str(b.file) ? { filename: str(b.file) } : {}),
          }
        : null,
      timestamp: parseTimestamp(b.timestamp) ?? receivedAt,
      payload: isGroup ? { group: isObj(b.group) ? b.group : { id: groupId ?? null, subject } } : null,
      raw: b,
    };
  }
}

/** `noid-` + 32 hex digits of the SHA-256 of the body's JSON: the id of a message body that carries none. */
function contentId(b: Obj): string {
  return `noid-${createHash('sha256').update(JSON.stringify(b)).digest('hex').slice(0, 32)}`;
}

/**
 * The identifiers of the Wablas number a body belongs to: its `deviceId` and the device's own number (`sender`,
 * E.164 digits). Either may be missing (seed s0's debug curl has no deviceId; legacy form bodies have neither).
 */
export function wablasIdentifiers(body: unknown): { deviceId: string | null; number: string | null } {
  if (!isObj(body)) return { deviceId: null, number: null };
  return { deviceId: str(body.deviceId) ?? null, number: waIdToDigits(str(body.sender)) ?? null };
}

function wablasSession(b: Obj): SessionRef {
  // Older form-urlencoded servers send neither deviceId nor sender: such messages land in the "default" device.
  const deviceId = str(b.deviceId) ?? str(b.sender) ?? 'default';
  return { provider: 'wablas', externalId: deviceId, displayNumber: waIdToDigits(str(b.sender)) };
}

function wablasType(b: Obj): MessageType {
  const declared = str(b.messageType)?.toLowerCase();
  if (declared) return TYPES[declared] ?? 'unknown';
  // Legacy form bodies have no messageType: media shows in `image` or `file`.
  if (str(b.image)) return 'image';
  if (str(b.file)) return 'document';
  return 'text';
}

/** Booleans arrive as true/false in JSON and as "true"/"1" in form bodies. */
function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === 'true' || v === '1';
}
