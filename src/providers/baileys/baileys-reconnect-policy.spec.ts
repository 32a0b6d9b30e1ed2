import { describe, expect, it } from 'vitest';
import { backoffDelay, decideOnClose, type CloseContext } from './baileys-reconnect-policy';

const linked: CloseContext = { code: undefined, wasOpen: true, afterPairingRestart: false, registered: true, attempt: 0 };
const decide = (c: Partial<CloseContext>) => decideOnClose({ ...linked, ...c }, 0.5);

describe('Baileys reconnect policy', () => {
  it('515 reconnects at once; 408/428/500/503 and network errors back off', () => {
    expect(decide({ code: 515 }).action).toBe('reconnect');
    for (const code of [408, 428, 500, 503, 405, undefined]) expect(decide({ code }).action).toBe('backoff');
  });

  it('401 of a linked device logs out; 401 straight after the pairing restart is a failed pairing (new QR)', () => {
    expect(decide({ code: 401 })).toMatchObject({ action: 'logged-out', status: 'logged_out' });
    expect(decide({ code: 401, wasOpen: false, afterPairingRestart: true })).toMatchObject({ action: 'new-qr', status: 'connecting' });
    expect(decide({ code: 401, wasOpen: false, registered: false })).toMatchObject({ action: 'new-qr' });
  });

  it('440 stops as replaced; 403 and 411 stop with error', () => {
    expect(decide({ code: 440 })).toMatchObject({ action: 'stop', status: 'disconnected' });
    expect(decide({ code: 403 })).toMatchObject({ action: 'stop', status: 'error' });
    expect(decide({ code: 411 })).toMatchObject({ action: 'stop', status: 'error' });
  });

  it('an exhausted QR waits for the user; a refused connection of an unlinked session is retried', () => {
    expect(decide({ code: 408, registered: false, wasOpen: false, message: 'QR refs attempts ended' })).toMatchObject({ action: 'stop' });
    expect(
      decide({ code: 408, registered: false, wasOpen: false, message: 'WebSocket Error (connect ECONNREFUSED 127.0.0.1:9)' }).action,
    ).toBe('backoff');
  });

  it('backoff doubles from 1 s up to the cap, jittered within the upper half', () => {
    expect(backoffDelay(0, 0)).toBe(500);
    expect(backoffDelay(0, 1)).toBe(1000);
    expect(backoffDelay(3, 0.5)).toBe(6000);
    expect(backoffDelay(20, 1)).toBe(300_000);
    expect(backoffDelay(20, 0)).toBe(150_000);
  });
});
