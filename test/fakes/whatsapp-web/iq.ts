/**
 * Answers to the IQs the Baileys client sends. Every `get`/`set` IQ gets an answer: a missing one would only show up
 * as a 60 s query timeout inside Baileys.
 *
 * Observed after login (rc14), in order: `encrypt <count/>` → `encrypt <registration/>…` (prekey upload, first login
 * only) → `passive <active/>` → `encrypt <digest/>` → (client emits `connection: open`) → `abt <props/>`,
 * `blocklist`, `privacy <privacy/>`; and on sends: `usync` (devices + lid), `encrypt <key>` (prekey bundles),
 * `privacy <tokens/>`; keepalive `w:p <ping/>`; logout `md <remove-companion-device/>`.
 */
import { getBinaryNodeChild, getBinaryNodeChildren, jidDecode, S_WHATSAPP_NET, type BinaryNode } from '@whiskeysockets/baileys';
import { LINK_CODE_REF } from './phone';
import { parsePreKeyUpload, type ClientPreKeyBundle, type SignalDevice } from './signal';

/** A WhatsApp user as the fake's directory knows it. */
export interface DirectoryEntry {
  lid: string;
  /** Device ids; the account itself has the phone (0) and the client. */
  devices: { id: number; keyIndex?: number }[];
  /** Signal device per device id that can hand out a prekey bundle. */
  signalDevices: Map<number, SignalDevice>;
}

/** What the IQ answers need from the world. */
export interface IqEnvironment {
  /** Looks a user up by PN or LID digits. */
  lookup(user: string): DirectoryEntry | undefined;
  preKeyCount(): number;
  onPreKeyUpload(bundle: ClientPreKeyBundle): void;
  /** `encrypt <digest/>` is the client's last login step before it reports `connection: open`. */
  onDigest(): void;
  onCompanionHello(iq: BinaryNode): void;
  onLogout(iq: BinaryNode): void;
}

/** `<iq type=result id=… from=s.whatsapp.net>` with optional children. */
export function iqResult(iq: BinaryNode, content?: BinaryNode[]): BinaryNode {
  return { tag: 'iq', attrs: { from: S_WHATSAPP_NET, type: 'result', id: iq.attrs.id }, content };
}

const firstChild = (node: BinaryNode): BinaryNode | undefined => (Array.isArray(node.content) ? node.content[0] : undefined);

/**
 * The answer to a client IQ, or `undefined` when none is due (results, errors, or IQs answered elsewhere, such as
 * `companion_finish`, which the phone answers).
 */
export function answerIq(iq: BinaryNode, env: IqEnvironment): BinaryNode | undefined {
  const { type, xmlns } = iq.attrs;
  if (type !== 'get' && type !== 'set') return undefined;
  const first = firstChild(iq);

  if (xmlns === 'encrypt') {
    // Imitates: the server's count of one-time prekeys it still holds for this device.
    if (first?.tag === 'count') return iqResult(iq, [{ tag: 'count', attrs: { value: String(env.preKeyCount()) } }]);
    // Imitates: the server stores the uploaded bundle (registration id, identity, signed prekey, 812 prekeys).
    if (first?.tag === 'registration') {
      env.onPreKeyUpload(parsePreKeyUpload(iq));
      return iqResult(iq);
    }
    // Imitates: the key-bundle digest check. The answer must contain a <digest/> child, or the client re-uploads.
    if (first?.tag === 'digest') {
      env.onDigest();
      return iqResult(iq, [{ tag: 'digest', attrs: {} }]);
    }
    // Imitates: prekey bundles for the requested devices (`<key><user jid=… [reason=identity]/>…`).
    if (first?.tag === 'key') return iqResult(iq, [{ tag: 'list', attrs: {}, content: prekeyBundles(first, env) }]);
  }

  if (xmlns === 'usync') return iqResult(iq, [usyncAnswer(iq, env)]);

  if (xmlns === 'md') {
    const reg = getBinaryNodeChild(iq, 'link_code_companion_reg');
    if (reg?.attrs.stage === 'companion_hello') {
      env.onCompanionHello(iq);
      return iqResult(iq, [
        {
          tag: 'link_code_companion_reg',
          attrs: {},
          content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(LINK_CODE_REF) }],
        },
      ]);
    }
    if (reg?.attrs.stage === 'companion_finish') return undefined; // the phone answers it (FakePhone.enterPairingCode)
    if (first?.tag === 'remove-companion-device') env.onLogout(iq);
  }

  // Everything else (passive, w:p ping, privacy, tokens, blocklist, abt props, w:stats, …): an empty result.
  return iqResult(iq);
}

function prekeyBundles(keyNode: BinaryNode, env: IqEnvironment): BinaryNode[] {
  const bundles: BinaryNode[] = [];
  for (const user of getBinaryNodeChildren(keyNode, 'user')) {
    const jid = user.attrs.jid;
    const decoded = jidDecode(jid);
    if (!jid || !decoded) continue;
    const device = env.lookup(decoded.user)?.signalDevices.get(decoded.device ?? 0);
    if (device) bundles.push(device.bundleNode(jid));
  }
  return bundles;
}

/**
 * `<usync><list><user jid><devices><device-list><device id [key-index]/>…</device-list></devices><lid val/></user>…`
 * for the protocols the query asked for (`devices`, `lid`, `contact`); unknown users get empty entries.
 */
function usyncAnswer(iq: BinaryNode, env: IqEnvironment): BinaryNode {
  const usync = getBinaryNodeChild(iq, 'usync');
  const queryNode = getBinaryNodeChild(usync, 'query');
  const protocols = new Set(Array.isArray(queryNode?.content) ? queryNode.content.map((c) => c.tag) : []);
  const users = getBinaryNodeChildren(getBinaryNodeChild(usync, 'list'), 'user').map((user): BinaryNode => {
    const jid = user.attrs.jid ?? '';
    const entry = env.lookup(jidDecode(jid)?.user ?? '');
    const content: BinaryNode[] = [];
    if (protocols.has('devices')) {
      content.push({
        tag: 'devices',
        attrs: {},
        content: [
          {
            tag: 'device-list',
            attrs: {},
            content: (entry?.devices ?? []).map((d) => ({
              tag: 'device',
              attrs: { id: String(d.id), ...(d.keyIndex ? { 'key-index': String(d.keyIndex) } : {}) },
            })),
          },
        ],
      });
    }
    if (protocols.has('lid') && entry) content.push({ tag: 'lid', attrs: { val: `${entry.lid}@lid` } });
    if (protocols.has('contact')) content.push({ tag: 'contact', attrs: { type: entry ? 'in' : 'out' } });
    return { tag: 'user', attrs: { jid }, content };
  });
  return { tag: 'usync', attrs: {}, content: [{ tag: 'list', attrs: {}, content: users }] };
}
