import { describe, expect, it } from 'vitest';
import { resolveWablasSession } from './wablas-ingest.service';
import { wablasIdentifiers } from './wablas.normalizer';

const device = { external_id: 'RF0WVV', display_number: '6285920524227' };
const byNumber = { external_id: '6285920524227', display_number: '6285920524227' };

describe('resolveWablasSession: one Wablas number is one session whichever identifier a body carries', () => {
  it.each([
    ['deviceId of a known device', { deviceId: 'RF0WVV', number: '6285920524227' }, [device], 'RF0WVV'],
    ['no deviceId: the device whose number it is', { deviceId: null, number: '6285920524227' }, [device], 'RF0WVV'],
    ['a new deviceId for a session first keyed by number', { deviceId: 'RF0WVV', number: '6285920524227' }, [byNumber], '6285920524227'],
    ['the deviceId wins over the number', { deviceId: 'RF0WVV', number: '6285920524227' }, [byNumber, device], 'RF0WVV'],
    ['nothing known: the normalizer decides', { deviceId: 'RF0WVV', number: '6285920524227' }, [], undefined],
    ['no identifiers', { deviceId: null, number: null }, [device], undefined],
  ])('%s', (_name, ids, known, want) => {
    expect(resolveWablasSession(ids, known)).toBe(want);
  });

  it('identifiers: deviceId and the sender as digits (JSON numbers too); none for non-objects', () => {
    expect(wablasIdentifiers({ deviceId: 'OMM1F9', sender: 6281298765432 })).toEqual({ deviceId: 'OMM1F9', number: '6281298765432' });
    expect(wablasIdentifiers({ sender: '6285920524227@s.whatsapp.net' })).toEqual({ deviceId: null, number: '6285920524227' });
    expect(wablasIdentifiers([])).toEqual({ deviceId: null, number: null });
  });
});
