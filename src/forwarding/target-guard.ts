import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook may not target unless WEBHOOK_ALLOW_PRIVATE=true: unspecified, loopback, RFC 1918 private,
 * carrier-grade NAT, link-local (which holds the 169.254.169.254 cloud metadata endpoint), benchmarking,
 * multicast and reserved ranges; IPv6 loopback, unique-local (fc00::/7, holds AWS's fd00:ec2::254), link-local,
 * multicast. IPv4-mapped and NAT64 IPv6 addresses are checked as the IPv4 address they carry.
 */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const)
  BLOCKED.addSubnet(net, bits, 'ipv6');

/** Whether `address` (an IP literal) is one webhooks may not reach without WEBHOOK_ALLOW_PRIVATE. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return BLOCKED.check(mapped[1], 'ipv4');
  const hexMapped = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hexMapped) {
    const n = (parseInt(hexMapped[1], 16) << 16) | parseInt(hexMapped[2], 16);
    return BLOCKED.check([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'), 'ipv4');
  }
  return BLOCKED.check(address, 'ipv6');
}

/** Raised for a target URL webhooks may not use; its message says why. */
export class TargetRefusedError extends Error {}

/** A {@link TargetRefusedError} about the URL itself (scheme, credentials): retrying cannot help. */
export class TargetFormError extends TargetRefusedError {}

/**
 * Checks a target URL's form: absolute http(s) URL, https unless `allowHttp`; no user info in it.
 * @throws TargetFormError.
 */
export function checkUrlForm(raw: string, allowHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetFormError('url must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:'))
    throw new TargetFormError(allowHttp ? 'url must be http:// or https://' : 'url must be https:// (WEBHOOK_ALLOW_HTTP is off)');
  if (url.username || url.password) throw new TargetFormError('url must not carry credentials; use headers');
  return url;
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Resolves `url`'s host and refuses it when any address is blocked (see {@link isBlockedAddress}).
 * @throws TargetRefusedError naming the address, or when the name does not resolve.
 */
export async function checkTargetAddresses(url: URL): Promise<void> {
  const host = hostOf(url);
  const addresses = isIP(host) ? [host] : await resolveAll(host);
  const bad = addresses.find(isBlockedAddress);
  if (bad) throw new TargetRefusedError(`url resolves to a private, loopback, link-local or metadata address (${bad})`);
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, list) =>
      err
        ? reject(new TargetRefusedError(`url host ${host} does not resolve (${err.code ?? err.message})`))
        : resolve(list.map((a) => a.address)),
    ),
  );
}

/**
 * A `lookup` for http(s).request that refuses blocked addresses at connection time, so a name that resolved to a
 * public address when checked cannot be switched to a private one afterwards (DNS rebinding).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, list: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const bad = list.find((a) => isBlockedAddress(a.address));
    if (bad) return callback(new TargetRefusedError(`target resolves to a blocked address (${bad.address})`), '', 0);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, l: LookupAddress[]) => void)(null, list);
    callback(null, list[0].address, list[0].family);
  });
};
