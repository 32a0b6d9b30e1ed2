import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, loadFixture } from '../../../test/helpers/fixtures';
import { GOLDEN_RECEIVED_AT, goldenJson } from '../../../test/helpers/golden';
import type { InboundEvent } from '../../domain/inbound-event';
import type { BaileysEnvelope } from './baileys-envelope';
import { BaileysNormalizer, DISCONNECT_STATUS, disconnectStatus } from './baileys.normalizer';

const normalizer = new BaileysNormalizer();
const at = GOLDEN_RECEIVED_AT;
const SID = 'bs-1';
const session = { provider: 'baileys', externalId: SID };

type Entry = { id: string; file: string; provider: string; baileysEvent?: string; kind: string };
const baileysFixtures = (JSON.parse(readFileSync(join(FIXTURES_DIR, 'index.json'), 'utf8')) as { fixtures: Entry[] }).fixtures.filter(
  (f) => f.provider === 'baileys',
);

/** A fixture as the engine would hand it: bare WAMessages (fixtures baileys.wamessage.*) go in a messages.upsert. */
function envelopeOf(f: Entry): BaileysEnvelope {
  const data = loadFixture(f.file);
  if (!f.baileysEvent) return { sessionId: SID, event: 'messages.upsert', data: { messages: [data], type: 'append' } };
  return { sessionId: SID, event: f.baileysEvent, data };
}
const run = (body: unknown) => normalizer.normalize(body, at);
const env = (event: string, data: unknown, extra: Partial<BaileysEnvelope> = {}) => run({ sessionId: SID, event, data, ...extra });
const upsert = (msg: unknown, extra: Partial<BaileysEnvelope> = {}, type = 'notify') =>
  env('messages.upsert', { messages: [msg], type }, extra);
const one = (events: InboundEvent[]) => {
  expect(events).toHaveLength(1);
  return events[0]!;
};
const msgOf = (events: InboundEvent[]) => {
  const e = events[0];
  if (e?.kind !== 'message') throw new Error(`not a message: ${JSON.stringify(e)}`);
  return e.message;
};
const sec = (s: number) => new Date(s * 1000);

// Real rc14 key shapes (captured against test/fakes/whatsapp-web, asserted in test/baileys-fake.e2e-spec.ts).
const ALICE_KEY = {
  remoteJid: '15550002222@s.whatsapp.net',
  remoteJidAlt: '200000000000002@lid',
  fromMe: false,
  id: 'IN1',
  participant: '',
  addressingMode: 'pn',
};
const textMsg = (key: object, text = 'hi', extra: object = {}) => ({
  key,
  messageTimestamp: 1796113744,
  pushName: 'Alice',
  broadcast: false,
  message: { conversation: text },
  ...extra,
});

describe('BaileysNormalizer over every baileys fixture', () => {
  it('the corpus holds the 11 baileys fixtures', () => expect(baileysFixtures).toHaveLength(11));

  it.each(baileysFixtures.map((f) => [f.id, f] as const))('%s: recognised, session-scoped, golden', async (id, f) => {
    const events = run(envelopeOf(f));
    expect(events.filter((e) => e.kind === 'unrecognized')).toEqual([]);
    for (const e of events) if ('session' in e && e.session) expect(e.session).toEqual(session);
    await expect(goldenJson(events)).toMatchFileSnapshot(`./__snapshots__/${id}.json`);
  });

  const byId = (id: string) => run(envelopeOf(baileysFixtures.find((f) => f.id === id)!));

  it('baileys.messages_upsert.notify_real: numeric timestamp, 1:1 PN chat, messageContextInfo ignored', () => {
    const m = msgOf(byId('baileys.messages_upsert.notify_real'));
    expect(m).toMatchObject({
      externalId: 'F2A50999DE8D0A11B5BC94172C5DCF2C',
      direction: 'in',
      type: 'text',
      chatId: '5511900000001',
      isGroup: false,
      contact: { phone: '5511900000001', profileName: 'Caio (masked)' },
      sender: '5511900000001',
      senderName: 'Caio (masked)',
      text: 'Pedsegunda',
      caption: null,
      media: null,
      context: null,
      replyToExternalId: null,
      payload: { upsertType: 'notify' },
    });
    expect(m.timestamp).toEqual(sec(1678805123));
  });

  it('baileys.messages_upsert.readme_real: string timestamp', () => {
    const m = msgOf(byId('baileys.messages_upsert.readme_real'));
    expect(m).toMatchObject({
      externalId: '50F2A87CC40A95126440A0416881EC70',
      direction: 'in',
      chatId: '556500000002',
      text: 'mensage  de texto',
      type: 'text',
    });
    expect(m.timestamp).toEqual(sec(1637176806));
  });

  it('baileys.wamessage.extended_text_reply: fromMe reply, quoted content in context, status name PENDING adds no status', () => {
    const events = byId('baileys.wamessage.extended_text_reply');
    expect(events).toHaveLength(1);
    const m = msgOf(events);
    expect(m).toMatchObject({
      externalId: 'BAE5FA1CB273B533',
      direction: 'out',
      type: 'text',
      chatId: '[remoteJid]@s.whatsapp.net',
      isGroup: false,
      contact: null,
      sender: null,
      senderName: null,
      replyToExternalId: 'BAE5766236A2AEFF',
      context: {
        quoted: {
          id: 'BAE5766236A2AEFF',
          participant: '[remoteJid]@s.whatsapp.net',
          type: 'conversation',
          text: expect.stringMatching(/^Plain text message/),
        },
      },
    });
    expect(m.text).toMatch(/^Reply quote text message/);
    expect(m.timestamp).toEqual(sec(1689608179));
  });

  it('baileys.wamessage.image: caption, media descriptor (sha256 base64 as given, fileLength Long string), download fields', () => {
    const m = msgOf(byId('baileys.wamessage.image'));
    expect(m).toMatchObject({
      externalId: 'BAE51614A82384B8',
      direction: 'out',
      type: 'image',
      chatId: '[remoteJid]',
      text: null,
      caption: 'This is an example JPG image file sent by Evolution-API via URL.',
      context: null,
      media: {
        mimeType: 'image/jpeg',
        sha256: '8VXLU/xZb6avXAocU65TB8PYu2hqBYA7GR1SKNcF8rs=',
        size: 54005,
        url: expect.stringMatching(/^https:\/\/mmg\.whatsapp\.net\//),
      },
      payload: {
        download: {
          mediaType: 'image',
          mediaKey: 'y6cbe1XoK0o9muPFcwY48tE6+dtapdE3m7BmSCGIZUY=',
          fileEncSha256: '2Qp8gKmnazumKDIYvotqNdFmkzCEQwHVQ3AM3sEdFeE=',
          directPath: expect.stringMatching(/^\/o1\//),
          fileLength: 54005,
          mediaKeyTimestamp: 1689625686,
        },
      },
    });
    expect(m.timestamp).toEqual(sec(1689625687));
  });

  it('baileys.messages_update.status: DELIVERY_ACK then READ, at receivedAt', () => {
    expect(byId('baileys.messages_update.status')).toEqual([
      {
        kind: 'status',
        session,
        status: {
          externalId: 'BAE5FA1CB273B533',
          status: 'delivered',
          timestamp: at,
          recipient: '5511900000001',
          error: null,
          payload: { status: 3 },
        },
      },
      {
        kind: 'status',
        session,
        status: {
          externalId: 'BAE5FA1CB273B533',
          status: 'read',
          timestamp: at,
          recipient: '5511900000001',
          error: null,
          payload: { status: 4 },
        },
      },
    ]);
  });

  it('connection fixtures → canonical session statuses', () => {
    expect(one(byId('baileys.connection_update.qr'))).toMatchObject({
      kind: 'session',
      change: { status: 'qr', qr: { action: 'set', value: expect.stringMatching(/^https:\/\/wa\.me\/settings\/linked_devices#2@/) } },
    });
    expect(one(byId('baileys.connection_update.connecting'))).toMatchObject({
      change: { event: 'connection.connecting', status: 'connecting' },
    });
    expect(one(byId('baileys.connection_update.open'))).toMatchObject({
      change: { status: 'connected', qr: { action: 'clear' }, connected: true },
    });
    expect(one(byId('baileys.connection_update.close_logged_out'))).toMatchObject({
      change: {
        status: 'logged_out',
        message: 'Intentional Logout',
        timestamp: new Date('2025-05-16T10:05:00.000Z'),
        payload: { statusCode: 401 },
      },
    });
    expect(one(byId('baileys.connection_update.close_405'))).toMatchObject({
      change: { status: 'disconnected', message: 'Connection Failure', payload: { statusCode: 405 } },
    });
    expect(one(byId('baileys.connection_update.close_restart_required'))).toMatchObject({
      change: { status: 'connecting', message: expect.stringMatching(/restart required/), timestamp: new Date('2025-05-30T13:44:53.028Z') },
    });
  });
});

describe('BaileysNormalizer, hand-built envelopes', () => {
  it('non-objects, missing sessionId or event, unknown events are unrecognized; never throws', () => {
    expect(run(null)).toEqual([{ kind: 'unrecognized', reason: expect.any(String) }]);
    expect(run({ event: 'messages.upsert', data: {} })).toMatchObject([{ kind: 'unrecognized' }]);
    expect(run({ sessionId: SID })).toMatchObject([{ kind: 'unrecognized' }]);
    expect(env('nope', {})).toMatchObject([{ kind: 'unrecognized' }]);
    expect(env('messages.upsert', { messages: [{ key: {} }, 42] })).toMatchObject([{ kind: 'unrecognized' }, { kind: 'unrecognized' }]);
    expect(env('messages.update', {})).toMatchObject([{ kind: 'unrecognized' }]);
    expect(env('connection.update', 'x')).toMatchObject([{ kind: 'unrecognized' }]);
  });

  it('compat route: a bare { sessionId, messages, type } upsert', () => {
    const events = run({ sessionId: SID, messages: [textMsg(ALICE_KEY)], type: 'notify' });
    expect(msgOf(events)).toMatchObject({ externalId: 'IN1', chatId: '15550002222', text: 'hi' });
  });

  it('1:1 PN-addressed message keeps the remoteJidAlt LID for contact aliasing; me.pn → displayNumber', () => {
    const events = upsert(textMsg(ALICE_KEY), { me: { pn: '15550001111', lid: '200000000000001@lid' } });
    expect(events[0]).toMatchObject({ session: { ...session, displayNumber: '15550001111' } });
    expect(msgOf(events)).toMatchObject({
      chatId: '15550002222',
      contact: { phone: '15550002222', profileName: 'Alice' },
      sender: '15550002222',
      payload: { lid: '200000000000002@lid' },
    });
    expect(msgOf(events).timestamp).toEqual(sec(1796113744));
  });

  it('LID-addressed message with remoteJidAlt PN threads under the PN', () => {
    const key = {
      remoteJid: '200000000000003@lid',
      remoteJidAlt: '15550003333@s.whatsapp.net',
      fromMe: false,
      id: 'C2',
      participant: '',
      addressingMode: 'lid',
    };
    expect(msgOf(upsert(textMsg(key, 'lid')))).toMatchObject({
      chatId: '15550003333',
      contact: { phone: '15550003333' },
      sender: '15550003333',
      payload: { lid: '200000000000003@lid' },
    });
  });

  it("LID via the engine's lidToPn (device jid), and without any PN the chatId stays the @lid JID", () => {
    const key = { remoteJid: '200000000000003@lid', fromMe: false, id: 'C3' };
    const mapped = upsert(textMsg(key), { lidToPn: { '200000000000003@lid': '15550003333:0@s.whatsapp.net' } });
    expect(msgOf(mapped)).toMatchObject({
      chatId: '15550003333',
      contact: { phone: '15550003333' },
      payload: { lid: '200000000000003@lid' },
    });
    const unknown = msgOf(upsert(textMsg(key)));
    expect(unknown).toMatchObject({
      chatId: '200000000000003@lid',
      isGroup: false,
      contact: null,
      sender: '200000000000003@lid',
      payload: { lid: '200000000000003@lid' },
    });
  });

  it('group: chatId is the group JID, author is participant (PN), participantAlt LID kept', () => {
    const key = {
      remoteJid: '120363000000000001@g.us',
      fromMe: false,
      id: 'IN-G',
      participant: '15550002222@s.whatsapp.net',
      participantAlt: '200000000000002@lid',
      addressingMode: 'pn',
    };
    const m = msgOf(
      upsert({
        ...textMsg(key, 'hello group'),
        message: {
          conversation: 'hello group',
          senderKeyDistributionMessage: { groupId: '120363000000000001@g.us', axolotlSenderKeyDistributionMessage: 'Mwi5' },
        },
      }),
    );
    expect(m).toMatchObject({
      chatId: '120363000000000001@g.us',
      isGroup: true,
      contact: null,
      sender: '15550002222',
      senderName: 'Alice',
      text: 'hello group',
      type: 'text',
      payload: { participantLid: '200000000000002@lid' },
    });
  });

  it('group with a LID participant: participantAlt PN wins, then lidToPn, else the LID', () => {
    const key = {
      remoteJid: '120363000000000001@g.us',
      fromMe: false,
      id: 'G2',
      participant: '200000000000002@lid',
      participantAlt: '15550002222@s.whatsapp.net',
      addressingMode: 'lid',
    };
    expect(msgOf(upsert(textMsg(key)))).toMatchObject({ sender: '15550002222', payload: { participantLid: '200000000000002@lid' } });
    const bare = { ...key, participantAlt: undefined };
    expect(msgOf(upsert(textMsg(bare), { lidToPn: { '200000000000002@lid': '15550002222@s.whatsapp.net' } })).sender).toBe('15550002222');
    expect(msgOf(upsert(textMsg(bare))).sender).toBe('200000000000002@lid');
  });

  it('own message (append): direction out, sender me.pn, folded receipt status becomes a status event', () => {
    const own = {
      key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: true, id: '3EB07B3C' },
      message: { extendedTextMessage: { text: 'hello' }, messageContextInfo: { messageSecret: 's3U7' } },
      messageTimestamp: '1796113745',
      status: 'PENDING',
    };
    const events = upsert(own, { me: { pn: '15550001111' } }, 'append');
    expect(events).toHaveLength(1);
    expect(msgOf(events)).toMatchObject({
      direction: 'out',
      sender: '15550001111',
      chatId: '15550002222',
      contact: { phone: '15550002222', profileName: null },
      text: 'hello',
      payload: { upsertType: 'append' },
    });
    const read = upsert({ ...own, status: 4 }, {}, 'append');
    expect(read[1]).toMatchObject({ kind: 'status', status: { externalId: '3EB07B3C', status: 'read', timestamp: at } });
  });

  it('history batches are marked in payload', () => {
    expect(msgOf(upsert(textMsg(ALICE_KEY), { history: true }, 'append')).payload).toMatchObject({ history: true, upsertType: 'append' });
    expect(msgOf(env('messaging-history.set', { messages: [textMsg(ALICE_KEY)], isLatest: true })).payload).toMatchObject({
      history: true,
    });
  });

  it('status@broadcast stories and content-less stubs are ignored', () => {
    expect(upsert(textMsg({ remoteJid: 'status@broadcast', fromMe: false, id: 'S1', participant: '15550002222@s.whatsapp.net' }))).toEqual([
      { kind: 'ignored', reason: expect.stringMatching(/status@broadcast/) },
    ]);
    expect(upsert({ key: ALICE_KEY, messageTimestamp: 1, messageStubType: 2 })).toEqual([
      { kind: 'ignored', reason: expect.stringMatching(/messageStubType 2/) },
    ]);
    expect(upsert({ key: ALICE_KEY, messageTimestamp: 1, message: { senderKeyDistributionMessage: { groupId: 'x' } } })).toMatchObject([
      { kind: 'ignored' },
    ]);
    expect(
      upsert({ key: ALICE_KEY, message: { protocolMessage: { type: 'HISTORY_SYNC_NOTIFICATION', historySyncNotification: {} } } }),
    ).toMatchObject([{ kind: 'ignored', reason: expect.stringMatching(/HISTORY_SYNC_NOTIFICATION/) }]);
  });

  it('wrappers are unwrapped: ephemeral, viewOnceV2, documentWithCaption', () => {
    const eph = msgOf(
      upsert({
        key: ALICE_KEY,
        messageTimestamp: 5,
        message: { ephemeralMessage: { message: { extendedTextMessage: { text: 'vanishing', contextInfo: { expiration: 604800 } } } } },
      }),
    );
    expect(eph).toMatchObject({ type: 'text', text: 'vanishing', payload: { ephemeral: true }, context: null });
    const vo = msgOf(
      upsert({
        key: ALICE_KEY,
        messageTimestamp: 5,
        message: {
          viewOnceMessageV2: {
            message: {
              imageMessage: { mimetype: 'image/jpeg', caption: 'once', viewOnce: true, fileSha256: { type: 'Buffer', data: 'AAEC' } },
            },
          },
        },
      }),
    );
    expect(vo).toMatchObject({
      type: 'image',
      caption: 'once',
      media: { mimeType: 'image/jpeg', sha256: 'AAEC' },
      payload: { viewOnce: true },
    });
    const doc = msgOf(
      upsert({
        key: ALICE_KEY,
        messageTimestamp: 5,
        message: {
          documentWithCaptionMessage: {
            message: {
              documentMessage: {
                mimetype: 'application/pdf',
                fileName: 'a.pdf',
                caption: 'the file',
                fileLength: { low: 1000, high: 0, unsigned: true },
                mediaKey: [1, 2, 3],
              },
            },
          },
        },
      }),
    );
    expect(doc).toMatchObject({
      type: 'document',
      caption: 'the file',
      media: { mimeType: 'application/pdf', filename: 'a.pdf', size: 1000 },
      payload: { download: { mediaType: 'document', mediaKey: 'AQID', fileLength: 1000 } },
    });
  });

  it('media kinds: ptt → voice, video gif → animated, sticker', () => {
    expect(
      msgOf(upsert({ key: ALICE_KEY, message: { audioMessage: { mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 3 } } })),
    ).toMatchObject({ type: 'voice', media: { voice: true, mimeType: 'audio/ogg; codecs=opus' } });
    expect(msgOf(upsert({ key: ALICE_KEY, message: { audioMessage: { mimetype: 'audio/mpeg' } } })).type).toBe('audio');
    expect(
      msgOf(upsert({ key: ALICE_KEY, message: { videoMessage: { mimetype: 'video/mp4', gifPlayback: true, caption: 'gif' } } })),
    ).toMatchObject({ type: 'video', caption: 'gif', media: { animated: true } });
    expect(msgOf(upsert({ key: ALICE_KEY, message: { stickerMessage: { mimetype: 'image/webp', isAnimated: false } } }))).toMatchObject({
      type: 'sticker',
      media: { mimeType: 'image/webp' },
    });
  });

  it('location and contacts', () => {
    expect(
      msgOf(
        upsert({
          key: ALICE_KEY,
          message: { locationMessage: { degreesLatitude: -6.2, degreesLongitude: 106.8, name: 'Monas', address: 'Jakarta' } },
        }),
      ),
    ).toMatchObject({ type: 'location', text: null, location: { latitude: -6.2, longitude: 106.8, name: 'Monas', address: 'Jakarta' } });
    expect(
      msgOf(upsert({ key: ALICE_KEY, message: { contactMessage: { displayName: 'Bob', vcard: 'BEGIN:VCARD\nEND:VCARD' } } })),
    ).toMatchObject({ type: 'contacts', text: 'Bob', payload: { contacts: [{ displayName: 'Bob', vcard: 'BEGIN:VCARD\nEND:VCARD' }] } });
    expect(
      msgOf(
        upsert({
          key: ALICE_KEY,
          message: {
            contactsArrayMessage: {
              displayName: '2 contacts',
              contacts: [
                { displayName: 'A', vcard: 'v1' },
                { displayName: 'B', vcard: 'v2' },
              ],
            },
          },
        }),
      ).payload,
    ).toMatchObject({ contacts: [{ displayName: 'A' }, { displayName: 'B' }] });
  });

  it('Long and string timestamps', () => {
    expect(
      msgOf(upsert({ key: ALICE_KEY, messageTimestamp: { low: 1796113744, high: 0, unsigned: true }, message: { conversation: 'x' } }))
        .timestamp,
    ).toEqual(sec(1796113744));
    expect(msgOf(upsert({ key: ALICE_KEY, messageTimestamp: '1796113744', message: { conversation: 'x' } })).timestamp).toEqual(
      sec(1796113744),
    );
    expect(msgOf(upsert({ key: ALICE_KEY, message: { conversation: 'x' } })).timestamp).toEqual(at);
  });

  it('reaction: the reactionMessage upsert and messages.reaction give the same reaction (real rc14 shapes)', () => {
    const fromUpsert = upsert({
      key: { ...ALICE_KEY, id: 'IN-R' },
      messageTimestamp: 1796113744,
      pushName: 'Alice',
      message: {
        reactionMessage: {
          key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'IN1', participant: '' },
          text: '👍',
          senderTimestampMs: '1796113744994',
        },
      },
    });
    const fromEvent = env('messages.reaction', [
      {
        key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'IN1', participant: '' },
        reaction: { key: { ...ALICE_KEY, id: 'IN-R' }, text: '👍', senderTimestampMs: { low: 817415266, high: 418, unsigned: false } },
      },
    ]);
    const expected = {
      kind: 'reaction',
      session,
      targetExternalId: 'IN1',
      sender: '15550002222',
      emoji: '👍',
      timestamp: new Date(1796113744994),
    };
    expect(fromUpsert).toEqual([expected]);
    expect(fromEvent).toEqual([expected]);
    // An empty text removes the reaction; our own reaction's sender is me.pn.
    expect(
      one(
        env(
          'messages.reaction',
          [
            {
              key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: true, id: 'OUT1' },
              reaction: { key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: true, id: 'R2' }, text: '' },
            },
          ],
          { me: { pn: '15550001111' } },
        ),
      ),
    ).toMatchObject({ emoji: null, sender: '15550001111', targetExternalId: 'OUT1', timestamp: at });
  });

  it('revoke: protocolMessage REVOKE upsert and messages.update { message: null, messageStubType: 1 }', () => {
    expect(
      upsert({
        key: { ...ALICE_KEY, id: 'IN-D' },
        messageTimestamp: 1796113745,
        message: { protocolMessage: { key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: true, id: 'IN2' }, type: 'REVOKE' } },
      }),
    ).toEqual([{ kind: 'message_update', session, externalId: 'IN2', update: { deleted: true, timestamp: sec(1796113745) } }]);
    // protobuf omits the default enum value: a protocolMessage with a key and no type is a REVOKE (0).
    expect(one(upsert({ key: ALICE_KEY, message: { protocolMessage: { key: { id: 'IN3' } } } }))).toMatchObject({
      kind: 'message_update',
      externalId: 'IN3',
      update: { deleted: true },
    });
    expect(
      env('messages.update', [
        { key: { ...ALICE_KEY, id: 'IN2' }, update: { message: null, messageStubType: 1, key: { ...ALICE_KEY, id: 'IN-D' } } },
      ]),
    ).toEqual([{ kind: 'message_update', session, externalId: 'IN2', update: { deleted: true, timestamp: at } }]);
  });

  it('edit: protocolMessage MESSAGE_EDIT upsert, messages.update editedMessage, editedMessage-wrapped protocolMessage', () => {
    expect(
      upsert({
        key: { ...ALICE_KEY, id: 'IN-E' },
        messageTimestamp: 1796113745,
        message: {
          protocolMessage: {
            key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: true, id: 'IN1' },
            type: 'MESSAGE_EDIT',
            editedMessage: { conversation: 'edited' },
            timestampMs: '1796113745006',
          },
        },
      }),
    ).toEqual([{ kind: 'message_update', session, externalId: 'IN1', update: { newText: 'edited', timestamp: new Date(1796113745006) } }]);
    expect(
      env('messages.update', [
        { key: ALICE_KEY, update: { message: { editedMessage: { message: { conversation: 'edited' } } }, messageTimestamp: 1796113745 } },
      ]),
    ).toEqual([{ kind: 'message_update', session, externalId: 'IN1', update: { newText: 'edited', timestamp: sec(1796113745) } }]);
    expect(
      one(
        upsert({
          key: { ...ALICE_KEY, id: 'E3' },
          messageTimestamp: 9,
          message: {
            editedMessage: {
              message: {
                protocolMessage: { key: { id: 'IN1' }, type: 14, editedMessage: { extendedTextMessage: { text: 'edited twice' } } },
              },
            },
          },
        }),
      ),
    ).toMatchObject({ kind: 'message_update', externalId: 'IN1', update: { newText: 'edited twice', timestamp: sec(9) } });
  });

  it('messages.update statuses: every WebMessageInfo.Status number; failed carries an error', () => {
    const statuses = [0, 1, 2, 3, 4, 5].map((s) => {
      const e = one(
        env('messages.update', [
          { key: { remoteJid: '15550002222@s.whatsapp.net', id: 'X', fromMe: true }, update: { status: s, messageTimestamp: 1 } },
        ]),
      );
      return e.kind === 'status' ? e.status.status : e.kind;
    });
    expect(statuses).toEqual(['failed', 'pending', 'sent', 'delivered', 'read', 'played']);
    expect(
      one(env('messages.update', [{ key: { remoteJid: 'x@s.whatsapp.net', id: 'X', fromMe: true }, update: { status: 0 } }])),
    ).toMatchObject({ status: { error: { code: 'ERROR' } } });
    expect(env('messages.update', [{ key: ALICE_KEY, update: { starred: true } }])).toMatchObject([{ kind: 'ignored' }]);
  });

  it('message-receipt.update (group receipts per participant) → statuses with the receipt time', () => {
    const key = { remoteJid: '120363000000000001@g.us', id: 'GOUT', fromMe: true };
    expect(
      env('message-receipt.update', [
        { key, receipt: { userJid: '15550002222@s.whatsapp.net', receiptTimestamp: 1796113800 } },
        { key, receipt: { userJid: '200000000000003@lid', readTimestamp: '1796113900' } },
        { key, receipt: { userJid: '15550002222@s.whatsapp.net', playedTimestamp: 1796114000 } },
      ]),
    ).toMatchObject([
      { kind: 'status', status: { externalId: 'GOUT', status: 'delivered', recipient: '15550002222', timestamp: sec(1796113800) } },
      { kind: 'status', status: { status: 'read', recipient: '200000000000003@lid', timestamp: sec(1796113900) } },
      { kind: 'status', status: { status: 'played', timestamp: sec(1796114000) } },
    ]);
  });

  it('call: an offer from a LID caller with callerPn; group calls keep the group JID', () => {
    const offer = {
      chatId: '200000000000002@lid',
      from: '200000000000002@lid',
      callerPn: '15550002222@s.whatsapp.net',
      id: 'CALL1',
      date: '2026-12-01T08:00:00.000Z',
      offline: false,
      status: 'offer',
      isVideo: true,
      isGroup: false,
    };
    expect(one(env('call', [offer]))).toEqual({
      kind: 'call',
      session,
      call: {
        externalId: 'CALL1',
        chatId: '15550002222',
        fromMe: false,
        isVideo: true,
        isGroup: false,
        timestamp: new Date('2026-12-01T08:00:00.000Z'),
        raw: offer,
      },
    });
    expect(one(env('call', [{ ...offer, id: 'CALL2', isGroup: true, groupJid: '120363000000000001@g.us' }]))).toMatchObject({
      call: { chatId: '120363000000000001@g.us', isGroup: true },
    });
  });

  it('contacts and lid mappings are recorded by the engine', () => {
    expect(env('contacts.upsert', [{ id: '15550002222@s.whatsapp.net', notify: 'Alice' }])).toEqual([
      { kind: 'ignored', reason: 'contacts recorded by the engine' },
    ]);
    expect(env('contacts.update', [{ id: '15550002222@s.whatsapp.net', notify: 'Alice' }])).toEqual([
      { kind: 'ignored', reason: 'contacts recorded by the engine' },
    ]);
    expect(env('lid-mapping', { lid: '1@lid', pn: '2@s.whatsapp.net' })).toMatchObject([{ kind: 'ignored' }]);
  });

  it('connection.update: open with me → displayNumber; 440 replaced; 403/411 error; isNewLogin; pending notifications', () => {
    const boom = (statusCode: number, message: string) => ({
      connection: 'close',
      lastDisconnect: {
        error: {
          data: null,
          isBoom: true,
          isServer: false,
          output: { statusCode, payload: { statusCode, error: 'Unknown', message }, headers: {} },
        },
        date: '2026-12-01T08:29:05.721Z',
      },
    });
    expect(one(env('connection.update', { connection: 'open' }, { me: { pn: '15550001111', lid: '200000000000001@lid' } }))).toMatchObject({
      session: { displayNumber: '15550001111' },
      change: { status: 'connected', connected: true },
    });
    expect(one(env('connection.update', boom(440, 'Stream Errored (conflict)')))).toMatchObject({
      change: {
        status: 'disconnected',
        message: expect.stringMatching(/replaced.*Stream Errored \(conflict\)/),
        qr: { action: 'clear' },
        timestamp: new Date('2026-12-01T08:29:05.721Z'),
      },
    });
    expect(one(env('connection.update', boom(403, 'Connection Failure')))).toMatchObject({
      change: { status: 'error', message: 'Connection Failure' },
    });
    expect(one(env('connection.update', boom(411, 'Multi-device beta not joined')))).toMatchObject({ change: { status: 'error' } });
    expect(one(env('connection.update', boom(428, 'Connection Terminated (by Server)')))).toMatchObject({
      change: { status: 'disconnected' },
    });
    expect(one(env('connection.update', { isNewLogin: true }))).toMatchObject({ change: { status: 'authenticated' } });
    expect(one(env('connection.update', { receivedPendingNotifications: true }))).toMatchObject({ change: { status: null } });
    expect(env('connection.update', {})).toMatchObject([{ kind: 'ignored' }]);
  });

  it('DISCONNECT_STATUS is the exported table; unknown codes are disconnected', () => {
    expect(DISCONNECT_STATUS[401]?.status).toBe('logged_out');
    expect(DISCONNECT_STATUS[515]?.status).toBe('connecting');
    expect(disconnectStatus(499)).toEqual({ status: 'disconnected', reason: 'code 499' });
    expect(disconnectStatus(undefined).status).toBe('disconnected');
  });
});
