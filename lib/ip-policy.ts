import { isIP } from 'node:net';

/**
 * Which addresses the service may open connections to on a client's behalf (URL ingest,
 * webhooks). Anything that is not plainly a public unicast address is refused, so a URL can never
 * reach the service's own host, its private network or a cloud metadata endpoint.
 */
export type AddressClass =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

/** How each class reads in an error message. */
export const ADDRESS_CLASS_LABELS: Record<AddressClass, string> = {
  loopback: 'a loopback address',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  cgnat: 'a carrier-grade NAT (shared) address',
  metadata: 'a cloud metadata endpoint',
  unspecified: 'the unspecified address',
  multicast: 'a multicast or broadcast address',
  reserved: 'a reserved or non-public address',
};

/** The verdict on one address: `undefined` when it is public. `via` names an IPv6 wrapper of an IPv4 address. */
export interface ForbiddenAddress {
  addressClass: AddressClass;
  via?: 'ipv4-mapped' | 'ipv4-compatible' | 'nat64' | '6to4';
}

type V4Range = [base: number, bits: number, cls: AddressClass];

const v4 = (dotted: string) => dotted.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);

/** Checked in order: the metadata address sits inside link-local and must win. */
const V4_RANGES: V4Range[] = [
  [v4('169.254.169.254'), 32, 'metadata'],
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'cgnat'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'],
  [v4('192.0.2.0'), 24, 'reserved'],
  [v4('192.88.99.0'), 24, 'reserved'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'reserved'],
  [v4('198.51.100.0'), 24, 'reserved'],
  [v4('203.0.113.0'), 24, 'reserved'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('255.255.255.255'), 32, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

function classifyV4Number(n: number): AddressClass | undefined {
  for (const [base, bits, cls] of V4_RANGES) {
    const size = 2 ** (32 - bits);
    if (n >= base && n < base + size) return cls;
  }
  return undefined;
}

/** Parse an IPv6 address (no zone) into 16 bytes; `undefined` when it is not one. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (isIP(text) !== 6) return undefined;
  let head = text;
  const tailBytes: number[] = [];
  // A trailing dotted quad (::ffff:127.0.0.1) is two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    head = `${dotted[1]!}0:0`;
    tailBytes.push(...dotted[2]!.split('.').map(Number));
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').filter((g) => g !== '').map((g) => parseInt(g, 16)) : []);
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  if (all.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tailBytes.length) bytes.set(tailBytes, 12);
  return bytes;
}

const startsWith = (bytes: Uint8Array, prefix: number[]) => prefix.every((b, i) => bytes[i] === b);
const allZero = (bytes: Uint8Array, from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
const v4At = (bytes: Uint8Array, offset: number) =>
  ((bytes[offset]! << 24) >>> 0) + (bytes[offset + 1]! << 16) + (bytes[offset + 2]! << 8) + bytes[offset + 3]!;

function classifyV6(bytes: Uint8Array): ForbiddenAddress | undefined {
  if (allZero(bytes, 0, 16)) return { addressClass: 'unspecified' };
  if (allZero(bytes, 0, 15) && bytes[15] === 1) return { addressClass: 'loopback' };
  // fd00:ec2::254, the AWS metadata endpoint over IPv6 (inside fc00::/7, named for the message).
  if (startsWith(bytes, [0xfd, 0x00, 0x0e, 0xc2]) && allZero(bytes, 4, 14) && bytes[14] === 0x02 && bytes[15] === 0x54) {
    return { addressClass: 'metadata' };
  }
  // IPv4 wrapped in IPv6: judged by the IPv4 address inside; a wrapper of a public address is
  // still refused when the form is deprecated (compatible) or odd (translated), never needed by a real host.
  if (allZero(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return { addressClass: classifyV4Number(v4At(bytes, 12)) ?? 'reserved', via: 'ipv4-mapped' };
  }
  if (allZero(bytes, 0, 12)) return { addressClass: classifyV4Number(v4At(bytes, 12)) ?? 'reserved', via: 'ipv4-compatible' };
  if (allZero(bytes, 0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && allZero(bytes, 10, 12)) {
    return { addressClass: classifyV4Number(v4At(bytes, 12)) ?? 'reserved', via: 'ipv4-mapped' };
  }
  // 64:ff9b::/96, NAT64: the gateway connects to the embedded IPv4 address.
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b]) && allZero(bytes, 4, 12)) {
    const cls = classifyV4Number(v4At(bytes, 12));
    return cls ? { addressClass: cls, via: 'nat64' } : undefined;
  }
  // 64:ff9b:1::/48, local-use NAT64.
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01])) return { addressClass: 'private', via: 'nat64' };
  // 2002::/16, 6to4: the relay reaches the embedded IPv4 address.
  if (startsWith(bytes, [0x20, 0x02])) {
    const cls = classifyV4Number(v4At(bytes, 2));
    return cls ? { addressClass: cls, via: '6to4' } : undefined;
  }
  if (bytes[0] === 0xff) return { addressClass: 'multicast' };
  if ((bytes[0]! & 0xfe) === 0xfc) return { addressClass: 'private' };
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return { addressClass: 'link-local' };
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0xc0) return { addressClass: 'private' }; // site-local, deprecated
  // Teredo (2001::/32) hides its IPv4 server and client; documentation (2001:db8::/32).
  if (startsWith(bytes, [0x20, 0x01, 0x00, 0x00]) || startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8])) return { addressClass: 'reserved' };
  // Only global unicast (2000::/3) is public.
  if ((bytes[0]! & 0xe0) !== 0x20) return { addressClass: 'reserved' };
  return undefined;
}

/**
 * Classify an IP address (IPv4 dotted quad or IPv6, with or without a zone or brackets).
 * `undefined` means public; anything that is not an IP address at all is `reserved`.
 */
export function classifyAddress(address: string): ForbiddenAddress | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (isIP(bare) === 4) {
    const cls = classifyV4Number(v4(bare));
    return cls ? { addressClass: cls } : undefined;
  }
  const bytes = parseIPv6(bare);
  if (!bytes) return { addressClass: 'reserved' };
  return classifyV6(bytes);
}

/** True for 127.0.0.0/8 and ::1 only (not wrapped forms): what tests may open to their own servers. */
export function isPlainLoopback(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  const bytes = parseIPv6(bare);
  return !!bytes && allZero(bytes, 0, 15) && bytes[15] === 1;
}

/** Host names refused before any lookup: they name the machine itself or a metadata service. */
const FORBIDDEN_NAMES: Array<[RegExp, AddressClass]> = [
  [/^(metadata\.google\.internal|metadata\.goog|metadata|instance-data(\.ec2\.internal)?)$/, 'metadata'],
  [/^(localhost|.+\.localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$/, 'loopback'],
];

/** Classify a host name by its text alone (case and a trailing dot ignored). */
export function classifyHostName(host: string): AddressClass | undefined {
  const name = host.toLowerCase().replace(/\.+$/, '');
  return FORBIDDEN_NAMES.find(([pattern]) => pattern.test(name))?.[1];
}

/** A readable phrase for an error message, e.g. "a loopback address (IPv4-mapped IPv6)". */
export function describeForbidden(verdict: ForbiddenAddress): string {
  const via = verdict.via ? ` (${verdict.via === 'nat64' ? 'NAT64' : verdict.via === '6to4' ? '6to4' : verdict.via.replace('ipv4', 'IPv4')} IPv6)` : '';
  return `${ADDRESS_CLASS_LABELS[verdict.addressClass]}${via}`;
}
