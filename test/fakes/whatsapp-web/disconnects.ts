/**
 * Server-side ways a WhatsApp connection ends, and what each one is on the wire. What Baileys rc14 then reports in
 * `connection.update.lastDisconnect.error.output.statusCode` is asserted in test/baileys-fake.e2e-spec.ts; the
 * `expectedCode` here is what was measured against rc14, for reference.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';

export interface ServerDisconnectSpec {
  /** The stanza the server sends; `undefined` for transport-level endings. */
  node?: BinaryNode;
  /** Close the WebSocket instead of (or after) sending a stanza. */
  closeSocket?: boolean;
  /** Stop sending and stop reading: the client notices through its keepalive. */
  silence?: boolean;
  /** The device is no longer linked afterwards: a later login with the same creds gets `<failure reason=401/>`. */
  unlinksDevice?: boolean;
  /** What rc14 reports (`DisconnectReason`). */
  expectedCode: number;
  /** What WhatsApp behaviour this imitates. */
  imitates: string;
}

export const SERVER_DISCONNECTS = {
  /** `<stream:error code=515/>` → 515 restartRequired. */
  'restart-required': {
    node: { tag: 'stream:error', attrs: { code: '515' } },
    expectedCode: 515,
    imitates: 'the restart WhatsApp asks for right after pairing (and occasionally later)',
  },
  /** `<stream:error><conflict type=replaced/></stream:error>` → 440 connectionReplaced. */
  'conflict-replaced': {
    node: { tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] },
    expectedCode: 440,
    imitates: 'another client connected with the same credentials',
  },
  /** `<stream:error code=401><conflict type=device_removed/></stream:error>` → 401 loggedOut. */
  'device-removed': {
    node: {
      tag: 'stream:error',
      attrs: { code: '401' },
      content: [{ tag: 'conflict', attrs: { type: 'device_removed' } }],
    },
    unlinksDevice: true,
    expectedCode: 401,
    imitates: 'the user removed the linked device on the phone (or WhatsApp revoked it)',
  },
  /** `<failure reason=401/>` → 401 loggedOut (normally the answer to a login with revoked creds). */
  'failure-401': {
    node: { tag: 'failure', attrs: { reason: '401' } },
    unlinksDevice: true,
    expectedCode: 401,
    imitates: 'login refused: the device is not (or no longer) linked',
  },
  /** `<failure reason=403/>` → 403 forbidden. */
  'failure-403': {
    node: { tag: 'failure', attrs: { reason: '403' } },
    expectedCode: 403,
    imitates: 'the account is banned or restricted',
  },
  /** `<stream:error><xml-not-well-formed/></stream:error>` (no code, unknown child) → 500 badSession. */
  'stream-error-unknown': {
    node: { tag: 'stream:error', attrs: {}, content: [{ tag: 'xml-not-well-formed', attrs: {} }] },
    expectedCode: 500,
    imitates: 'a stream error Baileys has no mapping for',
  },
  /** `<stream:error code=503/>` → 503 unavailableService. */
  'stream-error-503': {
    node: { tag: 'stream:error', attrs: { code: '503' } },
    expectedCode: 503,
    imitates: 'WhatsApp temporarily unavailable',
  },
  /** `<ib><downgrade_webclient/></ib>` → 411 multideviceMismatch. */
  'downgrade-webclient': {
    node: { tag: 'ib', attrs: {}, content: [{ tag: 'downgrade_webclient', attrs: {} }] },
    expectedCode: 411,
    imitates: 'the account is not on multi-device',
  },
  /** `<xmlstreamend/>` → 428 connectionClosed ("Connection Terminated by Server"). */
  xmlstreamend: {
    node: { tag: 'xmlstreamend', attrs: {} },
    expectedCode: 428,
    imitates: 'the server ends the stream',
  },
  /** The server closes the WebSocket → 428 connectionClosed ("Connection Terminated"). */
  'socket-close': {
    closeSocket: true,
    expectedCode: 428,
    imitates: 'the server (or a proxy) drops the connection',
  },
  /**
   * The server goes quiet → 408 "Connection was lost", once Baileys' keepalive sees nothing received for
   * `keepAliveIntervalMs + 5000` ms (checked every `keepAliveIntervalMs`).
   */
  silence: {
    silence: true,
    expectedCode: 408,
    imitates: 'a dead network path: nothing arrives any more',
  },
} satisfies Record<string, ServerDisconnectSpec>;

export type ServerDisconnect = keyof typeof SERVER_DISCONNECTS;

/** Baileys' status codes the fake can provoke, and the scenario used for each when a code is given. */
export const DISCONNECT_BY_CODE = {
  515: 'restart-required',
  440: 'conflict-replaced',
  401: 'device-removed',
  403: 'failure-403',
  500: 'stream-error-unknown',
  503: 'stream-error-503',
  411: 'downgrade-webclient',
  428: 'xmlstreamend',
  408: 'silence',
} as const satisfies Record<number, ServerDisconnect>;

export type DisconnectCode = keyof typeof DISCONNECT_BY_CODE;

export function resolveDisconnect(how: ServerDisconnect | DisconnectCode): ServerDisconnectSpec {
  const name: ServerDisconnect = typeof how === 'number' ? DISCONNECT_BY_CODE[how] : how;
  return SERVER_DISCONNECTS[name];
}
