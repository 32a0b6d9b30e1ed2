import { Injectable } from '@nestjs/common';
import { isObj, num, Obj, parseTimestamp, pick, str } from '../../common/guards';
import { waIdToDigits } from '../../common/phone';
import type { MessageStatus, MessageType } from '../../domain/message';
import type {
  InboundEvent,
  InboundMessage,
  InboundSessionEvent,
  SessionRef,
  SessionStatus,
  WebhookNormalizer,
} from '../../domain/inbound-event';

// whatsapp-web.js Message.type → ours (wwebjs src/util/Constants.js MessageTypes).
const TYPES: Record<string, MessageType> = {
  chat: 'text',
  image: 'image',
  video: 'video',
  audio: 'audio',
  ptt: 'voice',
  document: 'document',
  sticker: 'sticker',
  location: 'location',
  vcard: 'contacts',
  multi_vcard: 'contacts',
  buttons_response: 'button',
  list_response: 'interactive',
  order: 'order',
  revoked: 'system',
  notification_template: 'system',
  e2e_notification: 'system',
  gp2: 'system',
  call_log: 'system',
  unknown: 'unknown',
};
// MessageAck: -1 ERROR, 0 PENDING, 1 SERVER, 2 DEVICE, 3 READ, 4 PLAYED (wwebjs Constants.js).
const ACKS: Record<string, MessageStatus> = { '-1': 'failed', '0': 'pending', '1': 'sent', '2': 'delivered', '3': 'read', '4': 'played' };
// WAState values (wwebjs Constants.js) → canonical session statuses (src/domain/session-status.ts).
const STATES: Record<string, SessionStatus> = {
  CONNECTED: 'connected',
  OPENING: 'connecting',
  PAIRING: 'connecting',
  CONNECTING: 'connecting',
  CONFLICT: 'disconnected',
  UNPAIRED: 'logged_out',
  UNPAIRED_IDLE: 'logged_out',
  TIMEOUT: 'disconnected',
  UNLAUNCHED: 'disconnected',
  DISCONNECTED: 'disconnected',
  DEPRECATED_VERSION: 'error',
  PROXYBLOCK: 'error',
  SMB_TOS_BLOCK: 'error',
  TOS_BLOCK: 'error',
  LOADING: 'loading',
};
// Bookkeeping events recorded in the session's history without changing its status.
const RECORDED = new Set([
  'group_join',
  'group_leave',
  'group_update',
  'group_admin_changed',
  'group_membership_request',
  'contact_changed',
  'unread_count',
  'chat_removed',
  'chat_archived',
  'change_battery',
  'remote_session_saved',
  'vote_update',
  'message_ciphertext',
]);

/**
 * Normalises webhooks from whatsapp-web.js HTTP servers (chrishubert/whatsapp-api, avoylenko/wwebjs-api) in both
 * envelopes: the servers' native `{ dataType, data, sessionId }` and seed s1's `{ sessionId, event, data }`.
 * Quirks handled (fixture MANIFEST, wwebjs): `auth_failure` arrives as `dataType: "status"`; `ready` and
 * `authenticated` have no `data`; `message_create` repeats incoming messages and includes ours (`fromMe`), so
 * messages are keyed by `id._serialized`; `status@broadcast` stories are not chat messages; `@lid` senders are
 * privacy ids, not phone numbers.
 */
@Injectable()
export class WwebjsNormalizer implements WebhookNormalizer {
  normalize(body: unknown, receivedAt: Date): InboundEvent[] {
    return this.normalizeFor(body, receivedAt);
  }

  /**
   * @param pathSessionId session id from a per-session URL; it wins over the payload's.
   */
  normalizeFor(body: unknown, receivedAt: Date, pathSessionId?: string): InboundEvent[] {
    if (!isObj(body)) return [{ kind: 'unrecognized', reason: 'wwebjs webhook body is not an object' }];
    const event = str(body.dataType) ?? str(body.event);
    const sessionId = pathSessionId ?? str(body.sessionId);
    if (!event) return [{ kind: 'unrecognized', reason: 'wwebjs webhook without "dataType" or "event"' }];
    if (!sessionId) return [{ kind: 'unrecognized', reason: 'wwebjs webhook without "sessionId"' }];
    const session: SessionRef = { provider: 'wwebjs', externalId: sessionId };
    const data = isObj(body.data) ? body.data : {};
    const lifecycle = sessionChange(event, data, receivedAt);
    if (lifecycle) return [{ kind: 'session', session, change: lifecycle }];
    switch (event) {
      case 'message':
      case 'message_create':
      case 'media_uploaded':
        return this.message(session, data.message, receivedAt);
      case 'message_ack':
        return this.ack(session, data, receivedAt);
      case 'message_revoke_everyone':
      case 'message_revoke_me': {
        const id = messageId(data.message) ?? messageId(data.revoked_msg);
        if (!id) return [{ kind: 'unrecognized', reason: `${event} without message id` }];
        return [
          {
            kind: 'message_update',
            session,
            externalId: id,
            update: { deleted: true, timestamp: parseTimestamp(isObj(data.message) ? data.message.timestamp : undefined) ?? receivedAt },
          },
        ];
      }
      case 'message_edit': {
        const id = messageId(data.message);
        if (!id) return [{ kind: 'unrecognized', reason: 'message_edit without message id' }];
        const msg = data.message as Obj;
        const editedMs = num(msg.latestEditSenderTimestampMs);
        return [
          {
            kind: 'message_update',
            session,
            externalId: id,
            update: {
              newText: str(data.newBody) ?? null,
              previousText: str(data.prevBody) ?? null,
              timestamp: editedMs ? new Date(editedMs) : receivedAt,
            },
          },
        ];
      }
      case 'message_reaction':
        return this.reaction(session, data.reaction, receivedAt);
      case 'media':
        return this.media(session, data);
      case 'call':
        return this.call(session, data.call, receivedAt);
      default:
        if (RECORDED.has(event)) {
          return [{ kind: 'session', session, change: { event, status: null, payload: data, timestamp: eventTime(data, receivedAt) } }];
        }
        return [{ kind: 'unrecognized', reason: `wwebjs event "${event}" is not understood` }];
    }
  }

  private message(session: SessionRef, raw: unknown, receivedAt: Date): InboundEvent[] {
    if (!isObj(raw)) return [{ kind: 'unrecognized', reason: 'message event without data.message' }];
    const id = messageId(raw);
    if (!id) return [{ kind: 'unrecognized', reason: 'message without id._serialized' }];
    const idObj = isObj(raw.id) ? raw.id : {};
    const fromMe = raw.fromMe === true || idObj.fromMe === true;
    const remote = str(idObj.remote) ?? (fromMe ? str(raw.to) : str(raw.from)) ?? '';
    // Stories (fixture wwebjs.inbound.message_status_broadcast) arrive as messages but belong to no chat.
    if (remote === 'status@broadcast' || raw.isStatus === true)
      return [{ kind: 'ignored', reason: 'status@broadcast story, not a chat message' }];
    const isGroup = remote.endsWith('@g.us');
    const digits = waIdToDigits(remote);
    const author = str(raw.author) ?? str(idObj.participant);
    const wType = str(raw.type) ?? 'unknown';
    const type = TYPES[wType] ?? 'unknown';
    const hasMedia = raw.hasMedia === true;
    const body = str(raw.body) ?? null;
    const notifyName = isObj(raw._data) ? str(raw._data.notifyName) : undefined;
    const location = isObj(raw.location) ? raw.location : undefined;
    const msg: InboundMessage = {
      externalId: id,
      direction: fromMe ? 'out' : 'in',
      type,
      // A @lid chat is keyed by its opaque id until its phone number is known (fixture message_from_lid).
      chatId: isGroup ? remote : (digits ?? remote),
      isGroup,
      contact: !isGroup && digits ? { phone: digits, profileName: fromMe ? null : (notifyName ?? null) } : null,
      sender: fromMe ? (waIdToDigits(str(raw.from)) ?? null) : isGroup ? (waIdToDigits(author) ?? author ?? null) : (digits ?? remote),
      senderName: fromMe ? null : (notifyName ?? null),
      text: hasMedia || type === 'location' ? null : body,
      caption: hasMedia ? body : null,
      media: hasMedia
        ? {
            ...(isObj(raw._data) && str(raw._data.mimetype) ? { mimeType: str(raw._data.mimetype) } : {}),
            ...(isObj(raw._data) && str(raw._data.filename) ? { filename: str(raw._data.filename) } : {}),
          }
        : null,
      location:
        location && num(location.latitude) !== undefined && num(location.longitude) !== undefined
          ? {
              latitude: num(location.latitude)!,
              longitude: num(location.longitude)!,
              ...pick(location, { name: 'name', address: 'address', url: 'url' }),
            }
          : null,
      context:
        raw.isForwarded === true || raw.hasQuotedMsg === true
          ? { forwarded: raw.isForwarded === true, forwardingScore: num(raw.forwardingScore) ?? 0, hasQuotedMsg: raw.hasQuotedMsg === true }
          : null,
      replyToExternalId: isObj(raw._data) ? (str(raw._data.quotedStanzaID) ?? null) : null,
      payload: type === 'system' || type === 'unknown' ? { wwebjsType: wType } : null,
      timestamp: parseTimestamp(raw.timestamp) ?? receivedAt,
      raw,
    };
    return [{ kind: 'message', session, message: msg }];
  }

  private ack(session: SessionRef, data: Obj, receivedAt: Date): InboundEvent[] {
    const id = messageId(data.message);
    const ack = str(data.ack) ?? (isObj(data.message) ? str(data.message.ack) : undefined);
    const status = ack !== undefined ? ACKS[ack] : undefined;
    if (!id || !status) return [{ kind: 'unrecognized', reason: `message_ack without message id or with unknown ack "${String(ack)}"` }];
    const to = isObj(data.message) ? str(data.message.to) : undefined;
    return [
      {
        kind: 'status',
        session,
        status: {
          externalId: id,
          status,
          timestamp: receivedAt,
          recipient: waIdToDigits(to) ?? to ?? null,
          error: status === 'failed' ? { code: 'ACK_ERROR', title: 'wwebjs ack -1 (error)', detail: null } : null,
          payload: { ack: Number(ack) },
        },
      },
    ];
  }

  private reaction(session: SessionRef, raw: unknown, receivedAt: Date): InboundEvent[] {
    if (!isObj(raw)) return [{ kind: 'unrecognized', reason: 'message_reaction without data.reaction' }];
    const target = messageId(raw.msgId);
    const sender = str(raw.senderId);
    if (!target || !sender) return [{ kind: 'unrecognized', reason: 'reaction without msgId or senderId' }];
    // An empty reaction means it was removed (wwebjs Reaction._patch).
    return [
      {
        kind: 'reaction',
        session,
        targetExternalId: target,
        sender: waIdToDigits(sender) ?? sender,
        emoji: str(raw.reaction) ?? null,
        timestamp: parseTimestamp(raw.timestamp) ?? receivedAt,
      },
    ];
  }

  private media(session: SessionRef, data: Obj): InboundEvent[] {
    const id = messageId(data.message);
    const media = isObj(data.messageMedia) ? data.messageMedia : undefined;
    const base64 = media ? str(media.data) : undefined;
    if (!id || !media || !base64) return [{ kind: 'unrecognized', reason: 'media event without message id or messageMedia.data' }];
    return [
      {
        kind: 'media',
        session,
        externalId: id,
        media: { mimeType: str(media.mimetype) ?? null, filename: str(media.filename) ?? null, size: num(media.filesize) ?? null, base64 },
      },
    ];
  }

  private call(session: SessionRef, raw: unknown, receivedAt: Date): InboundEvent[] {
    if (!isObj(raw) || !str(raw.id)) return [{ kind: 'unrecognized', reason: 'call event without data.call.id' }];
    const from = str(raw.from) ?? '';
    return [
      {
        kind: 'call',
        session,
        call: {
          externalId: str(raw.id)!,
          chatId: waIdToDigits(from) ?? from,
          fromMe: raw.fromMe === true,
          isVideo: raw.isVideo === true,
          isGroup: raw.isGroup === true,
          timestamp: parseTimestamp(raw.timestamp) ?? receivedAt,
          raw,
        },
      },
    ];
  }
}

/** Lifecycle events → canonical status changes (seed s4 describes the same machine under other names); null when `event` is not a lifecycle event. */
function sessionChange(event: string, data: Obj, at: Date): InboundSessionEvent | null {
  switch (event) {
    case 'qr': {
      const qr = str(data.qr);
      return {
        event,
        status: 'qr',
        message: 'QR code generated, scan to connect',
        ...(qr ? { qr: { action: 'set' as const, value: qr } } : {}),
        timestamp: at,
      };
    }
    case 'authenticated':
      return { event, status: 'authenticated', message: 'Session authenticated', timestamp: at };
    case 'ready':
      return {
        event,
        status: 'connected',
        message: 'WhatsApp session connected successfully',
        qr: { action: 'clear' },
        connected: true,
        loadingPercent: null,
        timestamp: at,
      };
    case 'disconnected':
      // whatsapp-web.js passes the reason string; LOGOUT means the device was unlinked (Client.js 'disconnected').
      return {
        event,
        status: data.reason === 'LOGOUT' ? 'logged_out' : 'disconnected',
        message: str(data.reason) ?? 'Disconnected',
        qr: { action: 'clear' },
        payload: data,
        timestamp: at,
      };
    // chrishubert/whatsapp-api posts auth_failure as dataType "status" (fixture wwebjs.inbound.auth_failure).
    case 'auth_failure':
    case 'status':
      return {
        event: 'auth_failure',
        status: 'auth_failure',
        message: str(data.msg) ?? 'Authentication failed, a new QR scan is needed',
        qr: { action: 'clear' },
        payload: data,
        timestamp: at,
      };
    case 'change_state': {
      const state = str(data.state);
      return {
        event,
        status: state ? (STATES[state.toUpperCase()] ?? null) : null,
        message: state ? `State changed to ${state}` : null,
        payload: data,
        timestamp: at,
      };
    }
    case 'loading_screen': {
      const percent = num(data.percent);
      return {
        event,
        status: 'loading',
        message: `Loading ${percent ?? '?'}%${str(data.message) ? ` (${str(data.message)})` : ''}`,
        loadingPercent: percent !== undefined ? Math.max(0, Math.min(100, Math.round(percent))) : null,
        timestamp: at,
      };
    }
    default:
      return null;
  }
}

function messageId(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  if (isObj(v.id)) return str(v.id._serialized);
  return str(v._serialized) ?? str(v.id);
}

function eventTime(data: Obj, fallback: Date): Date {
  const n = isObj(data.notification) ? data.notification : isObj(data.message) ? data.message : data;
  return parseTimestamp(n.timestamp) ?? fallback;
}
