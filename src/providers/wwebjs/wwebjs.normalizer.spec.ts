import { describe, expect, it } from 'vitest';
import { inboundFixtures, loadFixture } from '../../../test/helpers/fixtures';
import { GOLDEN_RECEIVED_AT, goldenJson } from '../../../test/helpers/golden';
import { toSeedEnvelope } from '../../../test/helpers/http';
import { WwebjsNormalizer } from './wwebjs.normalizer';

const normalizer = new WwebjsNormalizer();
const at = new Date('2026-11-21T00:00:00Z');
type Native = { dataType: string; data?: unknown; sessionId: string };
const native = (file: string) => loadFixture<Native>(`wwebjs/inbound/${file}.json`);
const one = (body: unknown) => {
  const events = normalizer.normalize(body, at);
  expect(events).toHaveLength(1);
  return events[0];
};

describe('WwebjsNormalizer over every wwebjs fixture, in both envelopes', () => {
  const fixtures = inboundFixtures('wwebjs');

  it('the corpus holds the 24 inbound wwebjs fixtures', () => expect(fixtures).toHaveLength(24));

  it.each(fixtures.map((f) => [f.id, f.file]))('%s: native and seed envelopes give the same events', (_id, file) => {
    const body = loadFixture<Native>(file);
    const fromNative = normalizer.normalize(body, at);
    expect(fromNative.filter((e) => e.kind === 'unrecognized')).toEqual([]);
    expect(normalizer.normalize(toSeedEnvelope(body), at)).toEqual(fromNative);
    for (const e of fromNative)
      if ('session' in e && e.session) expect(e.session).toEqual({ provider: 'wwebjs', externalId: body.sessionId });
  });

  it("the per-session URL wins over the payload's sessionId", () => {
    const [e] = normalizer.normalizeFor(native('ready'), at, 'from-path');
    expect(e).toMatchObject({ session: { externalId: 'from-path' } });
  });

  it('lifecycle: qr sets the QR, authenticated/ready without data, ready clears the QR and connects', () => {
    expect(one(native('qr'))).toMatchObject({
      kind: 'session',
      change: { event: 'qr', status: 'qr', qr: { action: 'set', value: expect.stringMatching(/^2@/) } },
    });
    expect(one(native('authenticated'))).toMatchObject({ change: { status: 'authenticated' } });
    expect(one(native('ready'))).toMatchObject({ change: { status: 'connected', qr: { action: 'clear' }, connected: true } });
  });

  it('auth_failure arrives as dataType "status"; disconnected keeps its reason; change_state and loading map', () => {
    expect(one(native('auth_failure'))).toMatchObject({
      change: { event: 'auth_failure', status: 'auth_failure', qr: { action: 'clear' } },
    });
    expect(one(native('disconnected_logout'))).toMatchObject({
      change: { status: 'logged_out', message: 'LOGOUT', qr: { action: 'clear' } },
    });
    expect(one(native('change_state_conflict'))).toMatchObject({
      change: { status: 'disconnected', message: 'State changed to CONFLICT' },
    });
    expect(one({ sessionId: 's', event: 'change_state', data: { state: 'connecting' } })).toMatchObject({
      change: { status: 'connecting' },
    });
    expect(one(native('loading_screen'))).toMatchObject({ change: { status: 'loading', loadingPercent: 100 } });
  });

  it('messages: inbound text with notifyName; our own message_create is outgoing; @lid is not a phone number', () => {
    expect(one(native('message_text'))).toMatchObject({
      kind: 'message',
      message: {
        externalId: 'false_6281288888888@c.us_A1B2C3D4E5F60718293A4B5C6D7E8F90',
        direction: 'in',
        type: 'text',
        text: 'Hello World!',
        chatId: '6281288888888',
        contact: { phone: '6281288888888', profileName: 'Budi' },
        timestamp: new Date(1700000000 * 1000),
      },
    });
    expect(one(native('message_create_from_me'))).toMatchObject({
      message: { direction: 'out', chatId: '6281288888888', sender: '6281288888889', contact: { profileName: null } },
    });
    expect(one(native('message_from_lid'))).toMatchObject({
      message: { chatId: '211071956705386@lid', contact: null, sender: '211071956705386@lid' },
    });
  });

  it('group message threads by group, attributed to its author; image caption; location', () => {
    expect(one(native('message_group'))).toMatchObject({
      message: { isGroup: true, chatId: '120363024158769234@g.us', sender: '6281288888888', contact: null },
    });
    expect(one(native('message_image'))).toMatchObject({ message: { type: 'image', caption: 'Ini foto produknya', text: null } });
    expect(one(native('message_location'))).toMatchObject({
      message: { type: 'location', location: { latitude: -6.2, longitude: 106.8, name: 'Monas' } },
    });
  });

  it('status@broadcast stories are ignored, not stored as chat messages', () => {
    expect(one(native('message_status_broadcast'))).toEqual({ kind: 'ignored', reason: 'status@broadcast story, not a chat message' });
  });

  it('ack, revoke, edit, reaction, media, call', () => {
    expect(one(native('message_ack_read'))).toMatchObject({
      kind: 'status',
      status: { externalId: 'true_6281288888888@c.us_3EB0C767D26A1D8D8C41', status: 'read' },
    });
    expect(one(native('message_revoke_everyone'))).toMatchObject({ kind: 'message_update', update: { deleted: true } });
    expect(one(native('message_edit'))).toMatchObject({
      kind: 'message_update',
      update: { newText: 'Hello World! (edited)', previousText: 'Hello World!' },
    });
    expect(one(native('message_reaction'))).toMatchObject({
      kind: 'reaction',
      targetExternalId: 'true_6281288888888@c.us_3EB0C767D26A1D8D8C41',
      sender: '6281288888888',
      emoji: '👍',
    });
    expect(one(native('media'))).toMatchObject({ kind: 'media', media: { mimeType: 'image/jpeg', size: 54005 } });
    expect(one(native('call'))).toMatchObject({
      kind: 'call',
      call: { externalId: '9E5A3C1B7D2F4E6A8B0C', chatId: '6281288888888', isVideo: false },
    });
  });

  it.each([-1, 0, 1, 2, 3, 4])('ack %i maps to failed/pending/sent/delivered/read/played', (ack) => {
    const body = structuredClone(native('message_ack_read')) as { data: { ack: number } };
    body.data.ack = ack;
    const e = one(body);
    expect(e.kind === 'status' && e.status.status).toBe(
      { '-1': 'failed', 0: 'pending', 1: 'sent', 2: 'delivered', 3: 'read', 4: 'played' }[ack],
    );
  });

  it.each([
    ['no event', { sessionId: 's', data: {} }],
    ['no session', { dataType: 'ready' }],
    ['unknown event', { sessionId: 's', event: 'teleport' }],
  ])('%s is unrecognized', (_n, body) => {
    expect(one(body).kind).toBe('unrecognized');
  });
});

// Every inbound fixture's full output, frozen in __snapshots__/<fixture id>.json (test/helpers/golden.ts): a change
// to what the normalizer makes of any fixture fails here until reviewed and rewritten with `vitest run -u`.
describe('WwebjsNormalizer golden output per wwebjs fixture', () => {
  it.each(inboundFixtures('wwebjs').map((f) => [f.id, f.file]))('%s matches its golden file', async (id, file) => {
    const events = new WwebjsNormalizer().normalize(loadFixture(file), GOLDEN_RECEIVED_AT);
    await expect(goldenJson(events)).toMatchFileSnapshot(`./__snapshots__/${id}.json`);
  });
});
