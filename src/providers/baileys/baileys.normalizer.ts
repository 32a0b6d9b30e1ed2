import { Injectable } from '@nestjs/common';
import { isObj, num, Obj, objs, parseTimestamp, str } from '../../common/guards';
import { waIdToDigits } from '../../common/phone';
import type {
  InboundEvent,
  InboundMessage,
  InboundSessionEvent,
  SessionRef,
  SessionStatus,
  WebhookNormalizer,
} from '../../domain/inbound-event';
import type { LocationInfo, MediaInfo, MessageStatus, MessageType } from '../../domain/message';
import type { BaileysEnvelope } from './baileys-envelope';

/**
 * `proto.WebMessageInfo.Status` (WAProto/index.js: ERROR=0, PENDING=1, SERVER_ACK=2, DELIVERY_ACK=3, READ=4,
 * PLAYED=5) → canonical statuses. Baileys emits the number in `messages.update`; a protobuf `toJSON()` writes the
 * enum name instead (fixture baileys.wamessage.extended_text_reply: `status: "PENDING"`).
 */
export const MESSAGE_STATUS: Record<number, MessageStatus> = {
  0: 'failed',
  1: 'pending',
  2: 'sent',
  3: 'delivered',
  4: 'read',
  5: 'played',
};
const STATUS_NAMES: Record<string, number> = { ERROR: 0, PENDING: 1, SERVER_ACK: 2, DELIVERY_ACK: 3, READ: 4, PLAYED: 5 };

/**
 * `lastDisconnect.error.output.statusCode` of a `connection.update` `close` → canonical session status, with
 * Baileys' name for the code (lib/Types/index.d.ts `DisconnectReason`; the codes rc14 reports for each server-side
 * ending are asserted in test/baileys-fake.e2e-spec.ts, table in test/fakes/whatsapp-web/README.md). Exported so
 * the engine can use the same table for its own synthetic events. Codes not listed → `disconnected`.
 */
export const DISCONNECT_STATUS: Readonly<Record<number, { status: SessionStatus; reason: string }>> = {
  401: { status: 'logged_out', reason: 'loggedOut' },
  403: { status: 'error', reason: 'forbidden' },
  405: { status: 'disconnected', reason: 'connectionFailure' }, // fixture baileys.connection_update.close_405: reconnect with backoff
  408: { status: 'disconnected', reason: 'connectionLost' }, // also timedOut and "QR refs attempts ended"
  411: { status: 'error', reason: 'multideviceMismatch' },
  428: { status: 'disconnected', reason: 'connectionClosed' },
  440: { status: 'disconnected', reason: 'connectionReplaced' },
  500: { status: 'disconnected', reason: 'badSession' },
  503: { status: 'disconnected', reason: 'unavailableService' },
  515: { status: 'connecting', reason: 'restartRequired' }, // fixture baileys.connection_update.close_restart_required
};

/** The DISCONNECT_STATUS entry of a code, `disconnected` for any other (or no) code. */
export function disconnectStatus(code: number | null | undefined): { status: SessionStatus; reason: string } {
  return (
    (code !== null && code !== undefined ? DISCONNECT_STATUS[code] : undefined) ?? {
      status: 'disconnected',
      reason: code ? `code ${code}` : 'unknown',
    }
  );
}

// Content keys → canonical type (names from WAProto `Message` fields; the content key is found the way Baileys'
// getContentType() does, lib/Utils/messages.js).
const MEDIA: Record<string, { type: MessageType; media: string }> = {
  imageMessage: { type: 'image', media: 'image' },
  videoMessage: { type: 'video', media: 'video' },
  ptvMessage: { type: 'video', media: 'ptv' }, // round video note
  audioMessage: { type: 'audio', media: 'audio' }, // ptt: true → voice
  documentMessage: { type: 'document', media: 'document' },
  stickerMessage: { type: 'sticker', media: 'sticker' },
};
// Content with nothing to store: poll votes arrive encrypted (decrypted only with the poll's secret,
// lib/Utils/messages.js getAggregateVotesInPollMessage), keep/pin are chat bookkeeping.
const NOTHING_TO_STORE = new Set([
  'pollUpdateMessage',
  'keepInChatMessage',
  'pinInChatMessage',
  'encReactionMessage',
  'encEventResponseMessage',
  'messageHistoryBundle',
  'placeholderMessage',
]);
// Events the engine handles itself (or that hold nothing for the canonical model): understood, not stored.
const ENGINE_EVENTS: Record<string, string> = {
  'contacts.upsert': 'contacts recorded by the engine',
  'contacts.update': 'contacts recorded by the engine',
  'lid-mapping': 'lid mappings recorded by the engine',
  'lid-mapping.update': 'lid mappings recorded by the engine',
  'creds.update': 'credentials are kept by the engine',
  'chats.upsert': 'chats are derived from messages',
  'chats.update': 'chats are derived from messages',
  'chats.delete': 'chats are derived from messages',
  'presence.update': 'presence is not stored',
  'groups.upsert': 'group metadata is not stored by ingest',
  'groups.update': 'group metadata is not stored by ingest',
  'group-participants.update': 'group metadata is not stored by ingest',
  'blocklist.set': 'blocklist is not stored',
  'blocklist.update': 'blocklist is not stored',
  'messages.delete': 'local message deletion, nothing to store',
  'messages.media-update': 'media re-upload results are handled by the engine',
};

/** The envelope with its defaults applied, plus the session ref every event carries. */
interface Ctx {
  session: SessionRef;
  decision: BaileysEnvelope['decision'] | null;
  mePn: string | null;
  lidToPn: Map<string, string>;
  history: boolean;
  receivedAt: Date;
}

/** Where a message key points: the chat and, for the other party, the LID kept as an alias. */
interface Chat {
  chatId: string;
  isGroup: boolean;
  /** E.164 digits of the 1:1 chat's other party, when known. */
  phone: string | null;
  /** The 1:1 chat's LID (`…@lid`, device suffix dropped), when the key or the engine says. */
  lid: string | null;
}

/**
 * Normalises Baileys events (@whiskeysockets/baileys 7.0.0-rc14) handed to ingest as a {@link BaileysEnvelope}
 * `{ sessionId, event, data, me?, lidToPn?, history? }`, or, for the compat route, a bare `messages.upsert`
 * payload with the session at top level: `{ sessionId, messages, type }`.
 *
 * Units: `messageTimestamp` and receipt/call times are seconds since epoch (number, numeric string or Long
 * `{ low, high, unsigned }`) → `Date`; `senderTimestampMs` / `timestampMs` are milliseconds. Statuses, revokes
 * without a time and events with no time take `receivedAt`.
 *
 * Media (`MediaInfo`): `mimeType`, `sha256` = `fileSha256` kept in base64 as Baileys serialises it (BufferJSON or
 * protobuf toJSON; byte arrays are re-encoded to base64), `size` = `fileLength`, `filename` (documents), `url`
 * (the encrypted mmg URL: it is NOT fetchable as is), `voice` (ptt), `animated` (gif / animated sticker). What
 * Baileys needs to download and decrypt it later (`downloadContentFromMessage({ mediaKey, directPath, url }, type)`,
 * lib/Utils/messages-media.js) goes in `payload.download`: `{ mediaType, mediaKey, directPath, url, fileEncSha256,
 * fileSha256, fileLength, mediaKeyTimestamp }` (bytes as base64). The whole WAMessage is kept in `raw` as well,
 * which `downloadMediaMessage(msg, 'buffer', {})` (lib/Utils/messages.js) takes once revived with BufferJSON.
 *
 * Other `payload` keys of messages: `lid` (the 1:1 chat's LID, for contact aliasing), `participantLid` (a group
 * author's LID), `upsertType` (`notify` | `append`), `history: true`, `viewOnce: true`, `ephemeral: true`,
 * `contacts` (vCards), `baileysType` (the content key of `unknown` messages), `interactive` (button/list replies).
 *
 * Never throws: a body that matches no known shape gives `{ kind: 'unrecognized', reason }`; understood parts with
 * nothing to store give `{ kind: 'ignored', reason }`.
 */
@Injectable()
export class BaileysNormalizer implements WebhookNormalizer {
  normalize(body: unknown, receivedAt: Date): InboundEvent[] {
    if (!isObj(body)) return [{ kind: 'unrecognized', reason: 'baileys body is not an object' }];
    const sessionId = str(body.sessionId);
    if (!sessionId) return [{ kind: 'unrecognized', reason: 'baileys body without "sessionId"' }];
    let event = str(body.event);
    let data: unknown = body.data;
    // Compat route: a bare messages.upsert payload ({ messages, type }, lib/Types/Events.d.ts) with sessionId beside it.
    if (!event && Array.isArray(body.messages)) {
      event = 'messages.upsert';
      data = { messages: body.messages, type: body.type };
    }
    if (!event) return [{ kind: 'unrecognized', reason: 'baileys body without "event" (or a bare messages.upsert "messages" array)' }];
    const ctx = context(body as Partial<BaileysEnvelope>, sessionId, receivedAt);
    try {
      return this.event(event, data, ctx);
    } catch (err) {
      // Defensive: a normalizer never throws (WebhookNormalizer contract); a shape that breaks a branch is reported.
      return [{ kind: 'unrecognized', reason: `baileys ${event}: ${err instanceof Error ? err.message : String(err)}` }];
    }
  }

  private event(event: string, data: unknown, ctx: Ctx): InboundEvent[] {
    switch (event) {
      case 'messages.upsert': {
        if (!isObj(data) || !Array.isArray(data.messages))
          return [{ kind: 'unrecognized', reason: 'messages.upsert without data.messages' }];
        const type = str(data.type);
        return nonEmpty(
          data.messages.flatMap((m) => this.message(m, ctx, type)),
          'messages.upsert with no messages',
        );
      }
      case 'messaging-history.set': {
        // History sync (lib/Utils/history.js processHistoryMessage): the messages are stored as history.
        if (!isObj(data) || !Array.isArray(data.messages))
          return [{ kind: 'unrecognized', reason: 'messaging-history.set without data.messages' }];
        const hctx = { ...ctx, history: true };
        return nonEmpty(
          data.messages.flatMap((m) => this.message(m, hctx, 'append')),
          'messaging-history.set with no messages',
        );
      }
      case 'messages.update':
        if (!Array.isArray(data)) return [{ kind: 'unrecognized', reason: 'messages.update data is not an array' }];
        return nonEmpty(
          data.flatMap((u) => this.update(u, ctx)),
          'messages.update with no updates',
        );
      case 'messages.reaction':
        if (!Array.isArray(data)) return [{ kind: 'unrecognized', reason: 'messages.reaction data is not an array' }];
        return nonEmpty(
          data.flatMap((r) => this.reactionEvent(r, ctx)),
          'messages.reaction with no reactions',
        );
      case 'message-receipt.update':
        if (!Array.isArray(data)) return [{ kind: 'unrecognized', reason: 'message-receipt.update data is not an array' }];
        return nonEmpty(
          data.flatMap((r) => this.receipt(r, ctx)),
          'message-receipt.update with no receipts',
        );
      case 'call':
        if (!Array.isArray(data)) return [{ kind: 'unrecognized', reason: 'call data is not an array' }];
        return nonEmpty(
          data.flatMap((c) => this.call(c, ctx)),
          'call with no calls',
        );
      case 'connection.update':
        if (!isObj(data)) return [{ kind: 'unrecognized', reason: 'connection.update data is not an object' }];
        return this.connection(data, ctx);
      default:
        if (ENGINE_EVENTS[event]) return [{ kind: 'ignored', reason: ENGINE_EVENTS[event] }];
        return [{ kind: 'unrecognized', reason: `baileys event "${event}" is not understood` }];
    }
  }

  // ---- messages.upsert ---------------------------------------------------------------------------------------

  /** One WAMessage (lib/Types/Message.d.ts `WAMessage` = proto.IWebMessageInfo). */
  private message(raw: unknown, ctx: Ctx, upsertType: string | undefined): InboundEvent[] {
    if (!isObj(raw) || !isObj(raw.key)) return [{ kind: 'unrecognized', reason: 'WAMessage without key' }];
    const key = raw.key;
    const id = str(key.id);
    if (!id) return [{ kind: 'unrecognized', reason: 'WAMessage without key.id' }];
    const remote = str(key.remoteJid) ?? '';
    // Stories (isJidStatusBroadcast, lib/WABinary/jid-utils.js) belong to no chat.
    if (remote === 'status@broadcast') return [{ kind: 'ignored', reason: 'status@broadcast story, not a chat message' }];
    if (!isObj(raw.message)) {
      // No content: stubs (group notifications, CIPHERTEXT = undecryptable, proto.WebMessageInfo.StubType).
      const stub = raw.messageStubType;
      return [
        {
          kind: 'ignored',
          reason:
            stub !== undefined && stub !== null
              ? `message ${id} has no content (messageStubType ${String(stub)})`
              : `message ${id} has no content`,
        },
      ];
    }
    const fromMe = key.fromMe === true;
    const chat = this.chat(key, ctx);
    const timestamp = seconds(raw.messageTimestamp) ?? ctx.receivedAt;
    const { content, wrappers } = unwrap(raw.message);
    const contentKey = contentType(content);
    const sender = this.sender(key, chat, fromMe, ctx);

    if (!contentKey) return [{ kind: 'ignored', reason: `message ${id} carries no content (e.g. a lone senderKeyDistributionMessage)` }];
    if (contentKey === 'reactionMessage') {
      // A reaction also arrives as an upsert of its reactionMessage (seen against the fake server, next to messages.reaction).
      const rm = isObj(content.reactionMessage) ? content.reactionMessage : {};
      const target = isObj(rm.key) ? str(rm.key.id) : undefined;
      if (!target) return [{ kind: 'unrecognized', reason: 'reactionMessage without key.id' }];
      return [
        {
          kind: 'reaction',
          session: ctx.session,
          targetExternalId: target,
          sender: sender ?? 'me',
          emoji: str(rm.text) ?? null,
          timestamp: millis(rm.senderTimestampMs) ?? timestamp,
        },
      ];
    }
    if (contentKey === 'protocolMessage') return this.protocol(content.protocolMessage, ctx, timestamp);
    if (NOTHING_TO_STORE.has(contentKey)) return [{ kind: 'ignored', reason: `${contentKey} has nothing to store` }];

    const part = isObj(content[contentKey]) ? (content[contentKey] as Obj) : {};
    const payload: Obj = {};
    if (chat.lid) payload.lid = chat.lid;
    const participantLid = chat.isGroup ? lidOf(str(key.participant) ?? str(raw.participant), str(key.participantAlt)) : null;
    if (participantLid) payload.participantLid = participantLid;
    if (upsertType) payload.upsertType = upsertType;
    if (ctx.history) payload.history = true;
    if (wrappers.some((w) => w.startsWith('viewOnce'))) payload.viewOnce = true;
    if (wrappers.includes('ephemeralMessage')) payload.ephemeral = true;

    let type: MessageType = 'unknown';
    let text: string | null = null;
    let caption: string | null = null;
    let media: MediaInfo | null = null;
    let location: LocationInfo | null = null;
    const mediaDef = MEDIA[contentKey];
    if (contentKey === 'conversation' || contentKey === 'extendedTextMessage') {
      type = 'text';
      text = textOf(content) ?? null;
    } else if (mediaDef) {
      type = contentKey === 'audioMessage' && part.ptt === true ? 'voice' : mediaDef.type;
      caption = str(part.caption) ?? null;
      media = mediaInfo(part, contentKey);
      payload.download = download(part, mediaDef.media);
    } else if (contentKey === 'locationMessage' || contentKey === 'liveLocationMessage') {
      type = 'location';
      const lat = num(part.degreesLatitude);
      const lng = num(part.degreesLongitude);
      if (lat !== undefined && lng !== undefined) {
        location = { latitude: lat, longitude: lng };
        if (str(part.name)) location.name = str(part.name);
        if (str(part.address)) location.address = str(part.address);
        if (str(part.url)) location.url = str(part.url);
      }
      caption = str(part.caption) ?? null; // liveLocationMessage.caption
    } else if (contentKey === 'contactMessage' || contentKey === 'contactsArrayMessage') {
      type = 'contacts';
      const cards = contentKey === 'contactMessage' ? [part] : objs(part.contacts);
      payload.contacts = cards.map((c) => ({ displayName: str(c.displayName) ?? null, vcard: str(c.vcard) ?? null }));
      text = str(part.displayName) ?? null;
    } else if (contentKey === 'buttonsResponseMessage' || contentKey === 'templateButtonReplyMessage') {
      type = 'button';
      text = str(part.selectedDisplayText) ?? null;
      payload.interactive = { id: str(part.selectedButtonId) ?? str(part.selectedId) ?? null };
    } else if (contentKey === 'listResponseMessage') {
      type = 'interactive';
      text = str(part.title) ?? null;
      payload.interactive = { id: isObj(part.singleSelectReply) ? (str(part.singleSelectReply.selectedRowId) ?? null) : null };
    } else if (contentKey === 'interactiveResponseMessage') {
      type = 'interactive';
      text = isObj(part.body) ? (str(part.body.text) ?? null) : null;
      payload.interactive = isObj(part.nativeFlowResponseMessage)
        ? { paramsJson: str(part.nativeFlowResponseMessage.paramsJson) ?? null }
        : {};
    } else {
      // Polls, events, orders, newer content: stored as `unknown`, its content key in payload, the message in raw.
      payload.baileysType = contentKey;
      text = str(part.name) ?? str(part.text) ?? null;
    }

    const ci = isObj(part.contextInfo) ? part.contextInfo : undefined;
    const msg: InboundMessage = {
      externalId: id,
      direction: fromMe ? 'out' : 'in',
      type,
      chatId: chat.chatId,
      isGroup: chat.isGroup,
      contact: !chat.isGroup && chat.phone ? { phone: chat.phone, profileName: fromMe ? null : (str(raw.pushName) ?? null) } : null,
      sender,
      senderName: fromMe ? null : (str(raw.pushName) ?? str(raw.verifiedBizName) ?? null),
      text,
      caption,
      media,
      location,
      context: ci ? this.contextOf(ci, ctx) : null,
      replyToExternalId: ci ? (str(ci.stanzaId) ?? null) : null,
      payload: Object.keys(payload).length > 0 ? payload : null,
      timestamp,
      // History sync and `append` upserts (copies from other devices, messages.upsert type) are not live.
      ...(ctx.history || upsertType === 'append' ? { replayed: true } : {}),
      raw,
    };
    const events: InboundEvent[] = [{ kind: 'message', session: ctx.session, message: msg }];
    // Receipts that arrive while our send's upsert is still in Baileys' event buffer are folded into the upsert
    // (test/fakes/whatsapp-web/README.md "Events"): a status past PENDING on our own message is a status event too.
    const status = fromMe ? statusNumber(raw.status) : undefined;
    if (status !== undefined && status !== 1 && MESSAGE_STATUS[status]) {
      events.push({ kind: 'status', session: ctx.session, status: statusOf(id, status, ctx.receivedAt, chat.phone) });
    }
    return events;
  }

  /** protocolMessage (WAProto `Message.ProtocolMessage`): REVOKE and MESSAGE_EDIT are stored, the rest is Baileys' own bookkeeping (lib/Utils/process-message.js). */
  private protocol(raw: unknown, ctx: Ctx, timestamp: Date): InboundEvent[] {
    const pm = isObj(raw) ? raw : {};
    const target = isObj(pm.key) ? str(pm.key.id) : undefined;
    // protobuf leaves out default enum values: a missing `type` is 0 = REVOKE (ProtocolMessage.Type in WAProto/index.js).
    const type = pm.type === undefined || pm.type === null ? (isObj(pm.editedMessage) ? 'MESSAGE_EDIT' : 'REVOKE') : pm.type;
    if ((type === 'REVOKE' || type === 0) && target) {
      return [{ kind: 'message_update', session: ctx.session, externalId: target, update: { deleted: true, timestamp } }];
    }
    if ((type === 'MESSAGE_EDIT' || type === 14) && target) {
      // The key is in the sender's perspective (process-message.js flips it for messages.update): only its id is used.
      const edited = isObj(pm.editedMessage) ? unwrap(pm.editedMessage).content : {};
      return [
        {
          kind: 'message_update',
          session: ctx.session,
          externalId: target,
          update: { newText: textOf(edited) ?? null, timestamp: millis(pm.timestampMs) ?? timestamp },
        },
      ];
    }
    return [{ kind: 'ignored', reason: `protocolMessage ${String(type)} is Baileys bookkeeping, nothing to store` }];
  }

  private contextOf(ci: Obj, ctx: Ctx): Record<string, unknown> | null {
    const out: Record<string, unknown> = {};
    if (str(ci.stanzaId)) {
      const quoted = isObj(ci.quotedMessage) ? unwrap(ci.quotedMessage).content : undefined;
      const participant = str(ci.participant);
      out.quoted = {
        id: str(ci.stanzaId),
        participant: participant ? (this.pnDigits(participant, undefined, ctx) ?? participant) : null,
        type: quoted ? (contentType(quoted) ?? null) : null,
        text: quoted ? (textOf(quoted) ?? null) : null,
      };
    }
    if (ci.isForwarded === true) {
      out.forwarded = true;
      out.forwardingScore = num(ci.forwardingScore) ?? 0;
    }
    const mentioned = Array.isArray(ci.mentionedJid)
      ? ci.mentionedJid.filter((j): j is string => typeof j === 'string' && j.length > 0)
      : [];
    if (mentioned.length > 0) out.mentioned = mentioned.map((j) => this.pnDigits(j, undefined, ctx) ?? j);
    return Object.keys(out).length > 0 ? out : null;
  }

  // ---- addressing --------------------------------------------------------------------------------------------

  /**
   * The chat of a message key. Groups keep the group JID as chatId (as wwebjs does). 1:1 chats thread under the
   * phone number: `remoteJid` PN, or `remoteJid` `…@lid` with `remoteJidAlt` PN (rc14 key fields, asserted in
   * test/baileys-fake.e2e-spec.ts) or the engine's `lidToPn`; with no PN the chatId stays the `…@lid` JID, which
   * ingest resolves through contacts (src/ingest/ingest.repository.ts resolveLids).
   */
  private chat(key: Obj, ctx: Ctx): Chat {
    const remote = str(key.remoteJid) ?? '';
    const alt = str(key.remoteJidAlt);
    if (remote.endsWith('@g.us')) return { chatId: remote, isGroup: true, phone: null, lid: null };
    if (remote.endsWith('@lid')) {
      const lid = normalizeJid(remote);
      const phone = this.pnDigits(remote, alt, ctx);
      return { chatId: phone ?? lid, isGroup: false, phone, lid };
    }
    const phone = waIdToDigits(remote);
    return { chatId: phone ?? remote, isGroup: false, phone, lid: alt?.endsWith('@lid') ? normalizeJid(alt) : null };
  }

  /** E.164 digits for a PN jid, or for a LID via its PN alt / the engine's lidToPn; null when unknown. */
  private pnDigits(jid: string, alt: string | undefined, ctx: Ctx): string | null {
    if (!jid.endsWith('@lid')) return waIdToDigits(jid);
    const pn = alt && !alt.endsWith('@lid') ? alt : ctx.lidToPn.get(normalizeJid(jid));
    return pn ? waIdToDigits(pn) : null;
  }

  /** Who wrote a message: us (`me.pn`), the group participant (PN preferred over LID: `participantAlt`), or the 1:1 party. */
  private sender(key: Obj, chat: Chat, fromMe: boolean, ctx: Ctx): string | null {
    if (fromMe) return ctx.mePn;
    if (chat.isGroup) {
      const p = str(key.participant);
      if (!p) return null;
      return this.pnDigits(p, str(key.participantAlt), ctx) ?? normalizeJid(p);
    }
    return chat.phone ?? chat.chatId;
  }

  // ---- messages.update, messages.reaction, message-receipt.update --------------------------------------------

  /** One `WAMessageUpdate` `{ key, update: Partial<WAMessage> }` (lib/Types/Message.d.ts). */
  private update(raw: unknown, ctx: Ctx): InboundEvent[] {
    if (!isObj(raw) || !isObj(raw.key) || !isObj(raw.update))
      return [{ kind: 'unrecognized', reason: 'messages.update item without key or update' }];
    const id = str(raw.key.id);
    if (!id) return [{ kind: 'unrecognized', reason: 'messages.update item without key.id' }];
    if (str(raw.key.remoteJid) === 'status@broadcast') return [{ kind: 'ignored', reason: 'status@broadcast story update' }];
    const u = raw.update;
    const out: InboundEvent[] = [];
    const status = statusNumber(u.status);
    if (status !== undefined && MESSAGE_STATUS[status]) {
      // update.messageTimestamp is the message's own time, not the receipt's (seen against the fake): receivedAt.
      out.push({
        kind: 'status',
        session: ctx.session,
        status: statusOf(id, status, ctx.receivedAt, this.chat(raw.key, ctx).phone, raw.key.fromMe === true),
      });
    }
    const stub = u.messageStubType;
    if (u.message === null && (stub === 1 || stub === 'REVOKE')) {
      // Revoke: lib/Utils/process-message.js emits { message: null, messageStubType: REVOKE, key: <the revoke's key> }.
      out.push({ kind: 'message_update', session: ctx.session, externalId: id, update: { deleted: true, timestamp: ctx.receivedAt } });
    } else if (isObj(u.message) && isObj(u.message.editedMessage)) {
      // Edit: process-message.js emits { message: { editedMessage: { message } }, messageTimestamp: edit time in seconds }.
      let inner = unwrap(u.message).content; // unwraps editedMessage → its message
      if (isObj(inner.protocolMessage) && isObj(inner.protocolMessage.editedMessage))
        inner = unwrap(inner.protocolMessage.editedMessage).content;
      out.push({
        kind: 'message_update',
        session: ctx.session,
        externalId: id,
        update: { newText: textOf(inner) ?? null, timestamp: seconds(u.messageTimestamp) ?? ctx.receivedAt },
      });
    }
    return out.length > 0 ? out : [{ kind: 'ignored', reason: `messages.update for ${id} has no status, edit or revoke` }];
  }

  /** One `{ key: <target>, reaction: proto.IReaction }` (lib/Types/Events.d.ts 'messages.reaction'); an empty text removes it. */
  private reactionEvent(raw: unknown, ctx: Ctx): InboundEvent[] {
    if (!isObj(raw) || !isObj(raw.key) || !isObj(raw.reaction))
      return [{ kind: 'unrecognized', reason: 'messages.reaction item without key or reaction' }];
    const target = str(raw.key.id);
    if (!target) return [{ kind: 'unrecognized', reason: 'messages.reaction item without key.id' }];
    if (str(raw.key.remoteJid) === 'status@broadcast') return [{ kind: 'ignored', reason: 'reaction to a status@broadcast story' }];
    const r = raw.reaction;
    // The reaction's own key says who reacted; without it, the target key's chat (lib/Utils/process-message.js).
    const rkey = isObj(r.key) ? r.key : raw.key;
    const chat = this.chat(rkey, ctx);
    const sender = this.sender(rkey, chat, rkey.fromMe === true, ctx) ?? 'me';
    return [
      {
        kind: 'reaction',
        session: ctx.session,
        targetExternalId: target,
        sender,
        emoji: str(r.text) ?? null,
        timestamp: millis(r.senderTimestampMs) ?? ctx.receivedAt,
      },
    ];
  }

  /** One `MessageUserReceiptUpdate` `{ key, receipt: proto.IUserReceipt }`: per-participant receipts of group messages (lib/Socket/messages-recv.js). */
  private receipt(raw: unknown, ctx: Ctx): InboundEvent[] {
    if (!isObj(raw) || !isObj(raw.key) || !isObj(raw.receipt))
      return [{ kind: 'unrecognized', reason: 'message-receipt.update item without key or receipt' }];
    const id = str(raw.key.id);
    if (!id) return [{ kind: 'unrecognized', reason: 'message-receipt.update item without key.id' }];
    const r = raw.receipt;
    const user = str(r.userJid);
    const [status, at] =
      r.playedTimestamp != null
        ? [5, r.playedTimestamp]
        : r.readTimestamp != null
          ? [4, r.readTimestamp]
          : r.receiptTimestamp != null
            ? [3, r.receiptTimestamp]
            : [undefined, undefined];
    if (status === undefined) return [{ kind: 'ignored', reason: `receipt for ${id} without a timestamp` }];
    const recipient = user ? (this.pnDigits(user, undefined, ctx) ?? normalizeJid(user)) : null;
    return [
      {
        kind: 'status',
        session: ctx.session,
        status: {
          ...statusOf(id, status, seconds(at) ?? ctx.receivedAt, recipient, raw.key.fromMe === true),
          payload: { status, receipt: true, userJid: user ?? null },
        },
      },
    ];
  }

  // ---- call ----------------------------------------------------------------------------------------------------

  /** One `WACallEvent` (lib/Types/Call.d.ts; built in lib/Socket/messages-recv.js handleCall). Every status is emitted; ingest keeps the first row per call id. */
  private call(raw: unknown, ctx: Ctx): InboundEvent[] {
    if (!isObj(raw) || !str(raw.id)) return [{ kind: 'unrecognized', reason: 'call item without id' }];
    const from = str(raw.from) ?? str(raw.chatId) ?? '';
    const isGroup = raw.isGroup === true;
    const groupJid = str(raw.groupJid);
    // `from` may be a LID; handleCall adds `callerPn` (caller_pn attribute) when WhatsApp sends it.
    const digits = this.pnDigits(from, str(raw.callerPn), ctx);
    const date = raw.date instanceof Date ? raw.date : parseTimestamp(raw.date);
    return [
      {
        kind: 'call',
        session: ctx.session,
        call: {
          externalId: str(raw.id)!,
          chatId: isGroup && groupJid ? groupJid : (digits ?? normalizeJid(from)),
          fromMe: digits !== null && digits === ctx.mePn,
          isVideo: raw.isVideo === true,
          isGroup,
          timestamp: date ?? ctx.receivedAt,
          raw,
        },
      },
    ];
  }

  // ---- connection.update -----------------------------------------------------------------------------------------

  /** `Partial<ConnectionState>` (lib/Types/State.d.ts): updates are partial, one event per update by priority close > open > qr > connecting > isNewLogin > receivedPendingNotifications. */
  private connection(d: Obj, ctx: Ctx): InboundEvent[] {
    const at = ctx.receivedAt;
    const change = ((): InboundSessionEvent | null => {
      if (d.connection === 'close') {
        const ld = isObj(d.lastDisconnect) ? d.lastDisconnect : {};
        const err = isObj(ld.error) ? ld.error : {};
        const output = isObj(err.output) ? err.output : {};
        const boom = isObj(output.payload) ? output.payload : {};
        // A serialised Boom keeps its message only in output.payload.message (Error.message is not enumerable): fixture baileys.connection_update.close_405.
        const code = num(output.statusCode) ?? num(boom.statusCode) ?? num(err.statusCode);
        const { status, reason } = disconnectStatus(code);
        const text = str(boom.message) ?? str(err.message) ?? reason;
        const message =
          code === 440
            ? `Connection replaced: the session was opened elsewhere (${text})`
            : code === 515 && !/restart/i.test(text)
              ? `Restart required (${text})`
              : text;
        return {
          event: 'connection.close',
          status: ctx.decision?.status ?? status,
          message: ctx.decision?.message ?? message,
          qr: { action: 'clear' },
          payload: { statusCode: code ?? null, reason, error: str(boom.error) ?? null, data: err.data ?? null },
          timestamp: parseTimestamp(ld.date) ?? at,
        };
      }
      if (d.connection === 'open') {
        return {
          event: 'connection.open',
          status: 'connected',
          message: 'WhatsApp session connected',
          qr: { action: 'clear' },
          connected: true,
          loadingPercent: null,
          timestamp: at,
        };
      }
      const qr = str(d.qr);
      // rc14 QR is a wa.me linked_devices URL, older versions the bare ref string: stored verbatim (fixture baileys.connection_update.qr).
      if (qr)
        return {
          event: 'connection.qr',
          status: 'qr',
          message: 'QR code generated, scan to connect',
          qr: { action: 'set', value: qr },
          timestamp: at,
        };
      if (d.connection === 'connecting')
        return { event: 'connection.connecting', status: 'connecting', message: 'Connecting to WhatsApp', timestamp: at };
      // isNewLogin: the phone linked this device (pair-success), a 515 restart follows (test/fakes/whatsapp-web/README.md "Login and 515").
      if (d.isNewLogin === true)
        return {
          event: 'connection.new_login',
          status: 'authenticated',
          message: 'Device linked, restarting the connection',
          timestamp: at,
        };
      // receivedPendingNotifications: the offline flush arrived (lib/Socket/socket.js); recorded, no status change.
      if (d.receivedPendingNotifications === true)
        return { event: 'connection.pending_notifications', status: null, message: 'Offline notifications received', timestamp: at };
      return null;
    })();
    if (!change) return [{ kind: 'ignored', reason: 'connection.update with no state change' }];
    return [{ kind: 'session', session: ctx.session, change }];
  }
}

// ---- helpers ---------------------------------------------------------------------------------------------------

function context(body: Partial<BaileysEnvelope>, sessionId: string, receivedAt: Date): Ctx {
  const me = isObj(body.me) ? body.me : {};
  const mePn = waIdToDigits(str(me.pn));
  const lidToPn = new Map<string, string>();
  if (isObj(body.lidToPn))
    for (const [lid, pn] of Object.entries(body.lidToPn)) if (typeof pn === 'string' && pn) lidToPn.set(normalizeJid(lid), pn);
  const session: SessionRef = { provider: 'baileys', externalId: sessionId, ...(mePn ? { displayNumber: mePn } : {}) };
  const decision = isObj(body.decision) && typeof body.decision.status === 'string' ? body.decision : null;
  return { session, mePn, lidToPn, history: body.history === true, receivedAt, decision };
}

function nonEmpty(events: InboundEvent[], reason: string): InboundEvent[] {
  return events.length > 0 ? events : [{ kind: 'ignored', reason }];
}

/** `user:device@server` → `user@server` (what jidNormalizedUser does, lib/WABinary/jid-utils.js, minus c.us). */
function normalizeJid(jid: string): string {
  const at = jid.indexOf('@');
  if (at < 0) return jid;
  const user = jid.slice(0, at).replace(/:\d+$/, '');
  return `${user}${jid.slice(at)}`;
}

function lidOf(jid: string | undefined, alt: string | undefined): string | null {
  if (jid?.endsWith('@lid')) return normalizeJid(jid);
  if (alt?.endsWith('@lid')) return normalizeJid(alt);
  return null;
}

/**
 * Unwraps future-proof containers the way Baileys' normalizeMessageContent() does (lib/Utils/messages.js: ephemeral,
 * viewOnce, viewOnceV2(+Extension), documentWithCaption, edited, associatedChild, groupStatus(V2)), at most 5 deep.
 */
const WRAPPERS = [
  'ephemeralMessage',
  'viewOnceMessage',
  'documentWithCaptionMessage',
  'viewOnceMessageV2',
  'viewOnceMessageV2Extension',
  'editedMessage',
  'associatedChildMessage',
  'groupStatusMessage',
  'groupStatusMessageV2',
];
function unwrap(message: Obj): { content: Obj; wrappers: string[] } {
  let content = message;
  const wrappers: string[] = [];
  for (let i = 0; i < 5; i++) {
    const w = WRAPPERS.find((k) => isObj(content[k]) && isObj((content[k] as Obj).message));
    if (!w) break;
    wrappers.push(w);
    content = (content[w] as Obj).message as Obj;
  }
  return { content, wrappers };
}

/** Baileys' getContentType() (lib/Utils/messages.js): the first `conversation` or `…Message` key, not senderKeyDistributionMessage. */
function contentType(content: Obj): string | undefined {
  return Object.keys(content).find(
    (k) =>
      (k === 'conversation' || k.includes('Message')) &&
      k !== 'senderKeyDistributionMessage' &&
      content[k] !== null &&
      content[k] !== undefined,
  );
}

/** Text of a content: conversation, extendedTextMessage.text or a media caption (index.json commonRules.baileys). */
function textOf(content: Obj): string | undefined {
  const t = str(content.conversation);
  if (t) return t;
  if (isObj(content.extendedTextMessage)) return str(content.extendedTextMessage.text);
  for (const k of Object.keys(MEDIA)) if (isObj(content[k])) return str((content[k] as Obj).caption);
  return undefined;
}

function mediaInfo(part: Obj, contentKey: string): MediaInfo {
  const m: MediaInfo = {};
  if (str(part.url)) m.url = str(part.url);
  if (str(part.mimetype)) m.mimeType = str(part.mimetype);
  const sha = bytes(part.fileSha256);
  if (sha) m.sha256 = sha;
  if (contentKey === 'documentMessage' && (str(part.fileName) ?? str(part.title))) m.filename = str(part.fileName) ?? str(part.title);
  const size = long(part.fileLength); // a Long: string in JSON (fixture baileys.wamessage.image)
  if (size !== undefined) m.size = size;
  if (contentKey === 'audioMessage' && part.ptt === true) m.voice = true;
  if ((contentKey === 'videoMessage' && part.gifPlayback === true) || (contentKey === 'stickerMessage' && part.isAnimated === true))
    m.animated = true;
  return m;
}

/** What downloadContentFromMessage({ mediaKey, directPath, url }, mediaType) needs (lib/Utils/messages-media.js); bytes as base64. */
function download(part: Obj, mediaType: string): Obj {
  const d: Obj = { mediaType };
  for (const k of ['mediaKey', 'fileEncSha256', 'fileSha256']) {
    const b = bytes(part[k]);
    if (b) d[k] = b;
  }
  for (const k of ['directPath', 'url']) if (str(part[k])) d[k] = str(part[k]);
  const len = long(part.fileLength);
  if (len !== undefined) d.fileLength = len;
  const mkt = long(part.mediaKeyTimestamp);
  if (mkt !== undefined) d.mediaKeyTimestamp = mkt;
  return d;
}

/**
 * Bytes as base64: a base64 string (protobuf toJSON), BufferJSON's `{ type: 'Buffer', data: base64 }`
 * (lib/Utils/generics.js), Node's `{ type: 'Buffer', data: number[] }`, a number array or a JSON-ified Uint8Array.
 */
function bytes(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? Buffer.from(v as number[]).toString('base64') : undefined;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (!isObj(v)) return undefined;
  if (v.type === 'Buffer') return bytes(v.data);
  const keys = Object.keys(v);
  if (keys.length > 0 && keys.every((k, i) => k === String(i) && typeof v[k] === 'number'))
    return Buffer.from(keys.map((k) => v[k] as number)).toString('base64');
  return undefined;
}

/** A protobuf Long as a number: number, numeric string or `{ low, high, unsigned }` (long.js; index.json commonRules.baileys). */
function long(v: unknown): number | undefined {
  if (isObj(v) && typeof v.low === 'number' && typeof v.high === 'number') {
    return v.unsigned === true || v.high >= 0 ? (v.high >>> 0) * 4294967296 + (v.low >>> 0) : v.high * 4294967296 + (v.low >>> 0);
  }
  return num(v);
}

/** Seconds since epoch (number, string or Long) → Date. */
function seconds(v: unknown): Date | undefined {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) return parseTimestamp(v);
  const n = long(v);
  if (n === undefined || n <= 0) return undefined;
  return parseTimestamp(n);
}

/** Milliseconds since epoch (number, string or Long; senderTimestampMs, timestampMs) → Date. */
function millis(v: unknown): Date | undefined {
  const n = long(v);
  if (n === undefined || n <= 0) return undefined;
  const d = new Date(n);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `WebMessageInfo.Status` as its number (it may be the enum name). */
function statusNumber(v: unknown): number | undefined {
  if (typeof v === 'string' && STATUS_NAMES[v] !== undefined) return STATUS_NAMES[v];
  return num(v);
}

function statusOf(id: string, status: number, timestamp: Date, recipient: string | null, fromMe = true) {
  const canonical = MESSAGE_STATUS[status]!;
  return {
    externalId: id,
    status: canonical,
    timestamp,
    recipient,
    error: canonical === 'failed' ? { code: 'ERROR', title: 'Baileys WebMessageInfo.Status ERROR (0)', detail: null } : null,
    payload: { status, ...(fromMe ? {} : { fromMe: false }) },
  };
}
