import { describe, expect, it } from 'vitest';
import { inboundFixtures, loadFixture } from '../../../test/helpers/fixtures';
import { GOLDEN_RECEIVED_AT, goldenJson } from '../../../test/helpers/golden';
import { WablasNormalizer } from './wablas.normalizer';

const normalizer = new WablasNormalizer();
const receivedAt = new Date('2026-11-21T00:00:00Z');
const one = (file: string) => {
  const events = normalizer.normalize(loadFixture(file), receivedAt);
  expect(events).toHaveLength(1);
  return events[0];
};

describe('WablasNormalizer over every replayable Wablas fixture', () => {
  it.each(inboundFixtures('wablas').map((f) => [f.id, f.file]))('%s is recognised', (_id, file) => {
    expect(['message', 'status']).toContain(one(file).kind);
  });

  it('private text: customer phone, device session, push name, seconds timestamp', () => {
    expect(one('wablas/inbound/text_private.json')).toMatchObject({
      kind: 'message',
      session: { provider: 'wablas', externalId: 'OMM1F9', displayNumber: '6281298765432' },
      message: {
        direction: 'in',
        type: 'text',
        chatId: '6281234567890',
        contact: { phone: '6281234567890', profileName: 'Budi' },
        text: 'Halo, saya mau tanya stok',
        timestamp: new Date(1710138000 * 1000),
      },
    });
  });

  it('isFromMe echo is outgoing and does not rename the customer', () => {
    expect(one('wablas/inbound/from_me_echo.json')).toMatchObject({
      message: { direction: 'out', contact: { phone: '6281234567890', profileName: null }, sender: '6281298765432' },
    });
  });

  it('group message threads by group, not by the 1:1 chat', () => {
    const e = one('wablas/inbound/text_group.json');
    expect(e).toMatchObject({ message: { isGroup: true, groupSubject: 'Pelanggan Toko', contact: null, sender: '6281234567890' } });
    if (e.kind === 'message') expect(e.message.chatId).not.toBe('6281234567890');
  });

  it('image and document: media url, mime, file name; empty caption kept as null, not dropped', () => {
    expect(one('wablas/inbound/image.json')).toMatchObject({
      message: {
        type: 'image',
        caption: 'Ini foto produknya',
        media: { url: 'https://solo.wablas.com/image/20220315081917.jpeg', mimeType: 'image/jpeg' },
      },
    });
    expect(one('wablas/inbound/document.json')).toMatchObject({
      message: { type: 'document', caption: null, media: { filename: 'invoice-0012.pdf', mimeType: 'application/pdf' } },
    });
  });

  it('legacy form body: string values, no deviceId → the default device', () => {
    const form = Object.fromEntries(
      new URLSearchParams(
        new URLSearchParams(loadFixture<Record<string, string>>('wablas/inbound/legacy_form_urlencoded.json')).toString(),
      ),
    );
    const [e] = normalizer.normalize(form, receivedAt);
    expect(e).toMatchObject({
      kind: 'message',
      session: { externalId: 'default' },
      message: { type: 'text', text: 'test pesan lama', timestamp: new Date(1583134810 * 1000), isGroup: false },
    });
  });

  it('tracking callback is a status for the outbound message id', () => {
    expect(one('wablas/inbound/tracking_status.json')).toMatchObject({
      kind: 'status',
      status: { externalId: 'f5b3cb53-b926-472d-9cb3-594b7f535f7b', status: 'sent' },
    });
  });

  it('seed s0 shape: ISO timestamp, JID push name not taken as a name', () => {
    const [e] = normalizer.normalize(
      {
        id: 'x1',
        phone: '6285137033257',
        sender: '6285920524227',
        pushName: '6285137033257@s.whatsapp.net',
        message: 'Hello world',
        isGroup: false,
        isFromMe: false,
        messageType: 'text',
        timestamp: '2026-02-16T07:50:42Z',
        deviceId: 'RF0WVV',
      },
      receivedAt,
    );
    expect(e).toMatchObject({ message: { timestamp: new Date('2026-02-16T07:50:42Z'), contact: { profileName: null } } });
  });

  it("seed s0's debug curl (no id, no deviceId): a message with an id from its content, on the sender's number", () => {
    const body = { phone: '6285137033257', message: 'test', isFromMe: false, sender: '6285920524227' };
    const [e] = normalizer.normalize(body, receivedAt);
    expect(e).toMatchObject({
      kind: 'message',
      session: { provider: 'wablas', externalId: '6285920524227', displayNumber: '6285920524227' },
      message: { direction: 'in', type: 'text', chatId: '6285137033257', text: 'test', timestamp: receivedAt },
    });
    const again = normalizer.normalize({ ...body }, new Date(receivedAt.getTime() + 60_000))[0];
    const other = normalizer.normalize({ ...body, message: 'test 2' }, receivedAt)[0];
    if (e.kind !== 'message' || again.kind !== 'message' || other.kind !== 'message') throw new Error('not messages');
    expect(e.message.externalId).toMatch(/^noid-[0-9a-f]{32}$/);
    expect(again.message.externalId).toBe(e.message.externalId);
    expect(other.message.externalId).not.toBe(e.message.externalId);
  });

  it.each([
    ['no id', { phone: '1' }],
    ['array', []],
    ['unknown tracking status', { id: 'a', phone: '628123', status: 'weird' }],
  ])('%s is unrecognized', (_n, body) => {
    expect(normalizer.normalize(body, receivedAt)[0].kind).toBe('unrecognized');
  });
});

// Every inbound fixture's full output, frozen in __snapshots__/<fixture id>.json (test/helpers/golden.ts): a change
// to what the normalizer makes of any fixture fails here until reviewed and rewritten with `vitest run -u`.
describe('WablasNormalizer golden output per wablas fixture', () => {
  it.each(inboundFixtures('wablas').map((f) => [f.id, f.file]))('%s matches its golden file', async (id, file) => {
    const events = new WablasNormalizer().normalize(loadFixture(file), GOLDEN_RECEIVED_AT);
    await expect(goldenJson(events)).toMatchFileSnapshot(`./__snapshots__/${id}.json`);
  });
});
