import { describe, expect, it } from 'vitest';
import { inboundFixtures, loadFixture } from '../../../test/helpers/fixtures';
import { GOLDEN_RECEIVED_AT, goldenJson } from '../../../test/helpers/golden';
import type { InboundEvent } from '../../domain/inbound-event';
import { MetaNormalizer } from './meta.normalizer';

const normalizer = new MetaNormalizer();
const receivedAt = new Date('2026-11-21T00:00:00Z');
const run = (file: string) => normalizer.normalize(loadFixture(file), receivedAt);
const messages = (events: InboundEvent[]) => events.flatMap((e) => (e.kind === 'message' ? [e.message] : []));
const statuses = (events: InboundEvent[]) => events.flatMap((e) => (e.kind === 'status' ? [e.status] : []));

describe('MetaNormalizer over every replayable Meta fixture', () => {
  const fixtures = inboundFixtures('meta');

  it('the corpus has the Meta fixtures the issue names', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(36);
  });

  it.each(fixtures.map((f) => [f.id, f.file]))('%s yields only recognised events, each routed to its phone_number_id', (_id, file) => {
    const body = loadFixture<{
      entry: { changes: { value: { metadata?: { phone_number_id: string }; messages?: unknown[]; statuses?: unknown[] } }[] }[];
    }>(file);
    const events = normalizer.normalize(body, receivedAt);
    expect(events.filter((e) => e.kind === 'unrecognized')).toEqual([]);
    const expectedItems = body.entry
      .flatMap((e) => e.changes)
      .reduce((n, c) => n + (c.value.messages?.length ?? 0) + (c.value.statuses?.length ?? 0), 0);
    expect(messages(events).length + statuses(events).length).toBe(expectedItems);
    const phoneIds = new Set(
      body.entry
        .flatMap((e) => e.changes)
        .map((c) => c.value.metadata?.phone_number_id)
        .filter(Boolean),
    );
    for (const e of events) if (e.kind === 'message' || e.kind === 'status') expect(phoneIds.has(e.session.externalId)).toBe(true);
  });

  it('text: body, sender, profile name, wamid, timestamp in seconds', () => {
    const [m] = messages(run('meta/inbound/text.json'));
    expect(m).toMatchObject({
      externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      direction: 'in',
      type: 'text',
      text: 'Does it come in another color?',
      chatId: '16505551234',
      contact: { phone: '16505551234', profileName: 'Sheena Nelson' },
    });
    expect(m.timestamp.toISOString()).toBe(new Date(1749416383 * 1000).toISOString());
  });

  it('batch: all 5 items of 2 entries, each change routed by its own phone_number_id', () => {
    const events = run('meta/inbound/batch_multi_entry.json');
    expect(messages(events).map((m) => m.type)).toEqual(['text', 'image', 'reaction']);
    expect(statuses(events).map((s) => s.status)).toEqual(['sent', 'read']);
    const sessions = events.flatMap((e) => (e.kind === 'status' ? [e.session.externalId] : []));
    expect(sessions).toEqual(['409552778964973', '1122334455667']);
  });

  it('media: image caption and media id; voice note; document filename; animated sticker; url-only image', () => {
    expect(messages(run('meta/inbound/image.json'))[0]).toMatchObject({
      type: 'image',
      caption: 'Taj Mahal',
      media: { id: '1003383421387256', mimeType: 'image/jpeg' },
    });
    expect(messages(run('meta/inbound/audio_voice.json'))[0]).toMatchObject({
      type: 'voice',
      media: { voice: true, mimeType: 'audio/ogg; codecs=opus' },
    });
    expect(messages(run('meta/inbound/audio_forwarded.json'))[0]).toMatchObject({
      type: 'audio',
      media: { voice: false },
      context: { forwarded: true },
    });
    expect(messages(run('meta/inbound/document.json'))[0]).toMatchObject({
      type: 'document',
      caption: 'caption',
      media: { filename: 'filename.pdf' },
    });
    expect(messages(run('meta/inbound/sticker_animated.json'))[0]).toMatchObject({ type: 'sticker', media: { animated: true } });
    const img = messages(run('meta/inbound/image_with_url.json'))[0];
    expect(img.caption).toBeNull();
    expect(img.media?.url).toMatch(/^https:\/\/lookaside\.fbsbx\.com\//);
  });

  it('location with and without name; shared contacts; order; interactive; button; system', () => {
    expect(messages(run('meta/inbound/location_current.json'))[0].location).toEqual({
      latitude: expect.any(Number),
      longitude: expect.any(Number),
    });
    expect(messages(run('meta/inbound/contacts.json'))[0]).toMatchObject({ type: 'contacts', text: 'Lucía Gómez' });
    expect(messages(run('meta/inbound/order.json'))[0].payload).toMatchObject({
      catalogId: '194836987003835',
      productItems: [expect.objectContaining({ quantity: 2, item_price: 30 }), expect.objectContaining({ quantity: 1, item_price: 25 })],
    });
    expect(messages(run('meta/inbound/interactive_button_reply.json'))[0]).toMatchObject({
      type: 'interactive',
      text: 'Cancel',
      payload: { interactiveType: 'button_reply', id: 'cancel-button' },
    });
    expect(messages(run('meta/inbound/interactive_list_reply.json'))[0].payload).toMatchObject({ interactiveType: 'list_reply' });
    expect(messages(run('meta/inbound/button_template_quick_reply.json'))[0]).toMatchObject({ type: 'button', text: 'Unsubscribe' });
    const sys = messages(run('meta/inbound/system_user_changed_number.json'))[0];
    expect(sys).toMatchObject({ type: 'system', payload: { systemType: 'user_changed_number', newWaId: '12195555358' } });
    expect(sys.contact?.profileName).toBeNull(); // system messages carry no contacts[]
  });

  it('reply context, referral, reactions (removed = empty emoji)', () => {
    expect(messages(run('meta/inbound/reply_context.json'))[0].replyToExternalId).toMatch(/^wamid\./);
    expect(messages(run('meta/inbound/text_referral_ctwa.json'))[0].context).toMatchObject({
      referral: { source_type: 'ad', ctwa_clid: expect.any(String) },
    });
    expect(messages(run('meta/inbound/reaction.json'))[0]).toMatchObject({ type: 'reaction', text: '👍', payload: { removed: false } });
    expect(messages(run('meta/inbound/reaction_removed.json'))[0]).toMatchObject({
      type: 'reaction',
      text: null,
      payload: { emoji: null, removed: true },
    });
  });

  it('statuses: failed keeps code/title/detail, minimal failed, played, biz_opaque_callback_data', () => {
    expect(statuses(run('meta/inbound/status_failed_131047.json'))[0]).toMatchObject({
      status: 'failed',
      error: { code: '131047', title: 'Re-engagement message', detail: expect.stringContaining('24 hours') },
    });
    expect(statuses(run('meta/inbound/status_failed_131026_minimal.json'))[0].error?.code).toBe('131026');
    expect(statuses(run('meta/inbound/status_played.json'))[0].status).toBe('played');
    expect(statuses(run('meta/inbound/status_sent_biz_opaque.json'))[0].payload).toMatchObject({ bizOpaqueCallbackData: 'some data' });
  });

  it('value-level errors are reported beside the message that lacks its interactive object', () => {
    const events = run('meta/inbound/value_errors_131000.json');
    expect(messages(events)[0]).toMatchObject({ type: 'interactive', payload: null });
    expect(events.find((e) => e.kind === 'provider_error')).toMatchObject({
      error: { code: '131000', detail: 'Unsupported webhook payload' },
    });
  });

  it('group_lifecycle_update is ignored, not failed', () => {
    expect(run('meta/inbound/group_lifecycle_create.json')).toEqual([
      { kind: 'ignored', reason: 'field "group_lifecycle_update" is not stored' },
    ]);
  });

  it.each([
    ['a non-object', 'hello'],
    ['another object type', { object: 'page', entry: [] }],
    ['no phone_number_id', { object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { messages: [] } }] }] }],
  ])('%s is unrecognized, never thrown', (_name, body) => {
    expect(normalizer.normalize(body, receivedAt).some((e) => e.kind === 'unrecognized')).toBe(true);
  });
});

// Every inbound fixture's full output, frozen in __snapshots__/<fixture id>.json (test/helpers/golden.ts): a change
// to what the normalizer makes of any fixture fails here until reviewed and rewritten with `vitest run -u`.
describe('MetaNormalizer golden output per meta fixture', () => {
  it.each(inboundFixtures('meta').map((f) => [f.id, f.file]))('%s matches its golden file', async (id, file) => {
    const events = new MetaNormalizer().normalize(loadFixture(file), GOLDEN_RECEIVED_AT);
    await expect(goldenJson(events)).toMatchFileSnapshot(`./__snapshots__/${id}.json`);
  });
});
