/**
 * A fake WhatsApp Web server for tests of code that runs the real Baileys (7.0.0-rc14) client. See README.md.
 *
 *   const wa = await startFakeWhatsApp();
 *   const sock = makeWASocket({ waWebSocketUrl: wa.url, auth, shouldSyncHistoryMessage: () => false, … });
 *   await wa.phone.scanQr(qr);                        // from connection.update; then the client gets 515
 *   const alice = wa.addPeer({ pn: '16505552222', lid: '200000000000002', name: 'Alice' });
 *   await alice.sendText('hi');                       // → messages.upsert
 *   const copy = await alice.nextMessage();           // what sock.sendMessage(alice.pnJid, …) sent, decrypted
 *   await alice.sendReceipt(copy.id, 'read');         // → messages.update status 4
 *   await wa.disconnect(440);                         // → lastDisconnect.error.output.statusCode 440
 *   await wa.close();
 */
export { startFakeWhatsApp, FakeWhatsApp, DEFAULT_ACCOUNT } from './world';
export type { StartFakeWhatsAppOptions, FakeWhatsAppEvents } from './world';
export { FakePeer } from './peer';
export type { PeerOptions, SendOptions, InboundStanza, MessageRef, ReceiptType, ImageDescriptor } from './peer';
export { FakePhone, parsePairingQr } from './phone';
export type { PairResult, PairingQr, ScanOptions } from './phone';
export { SERVER_DISCONNECTS, DISCONNECT_BY_CODE } from './disconnects';
export type { ServerDisconnect, DisconnectCode, ServerDisconnectSpec } from './disconnects';
export { makeFakePki, trustFakeRoot, zeroSignedCertChain } from './noise';
export type { FakePki } from './noise';
export { FakeWAServer, FakeConnection } from './server';
export { verifyCurveSignature } from './signal';
export type { ClientMessageStanza, DecryptedCopy, FakeAccount } from './types';
export { makeMemoryAuthState, silentLogger, waitFor } from './client-helpers';
export type { MemoryAuthState } from './client-helpers';
