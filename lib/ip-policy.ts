import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { IPV4_SPECIAL_REGISTRY, IPV6_SPECIAL_REGISTRY, type SpecialPurposeBlock } from './ip-special-registries.js';

/**
 * Which addresses the service may open connections to on a client's behalf (URL ingest,
 * webhooks). Anything that is not plainly a public unicast address is refused, so a URL can never
 * reach the service's own host, its private network or a cloud metadata endpoint. The table is
 * the IANA special-purpose registries (lib/ip-special-registries.ts, a row refused unless the
 * registry calls it globally reachable); ipaddr.js parses and matches. The callers resolve once,
 * connect to the address checked here and check each redirect again (lib/safe-fetch*.ts).
 */
export type AddressClass = 'loopback' | 'private' | 'link-local' | 'cgnat' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

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

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface Row extends Pick<SpecialPurposeBlock, 'block' | 'globallyReachable'> {
  cidr: Cidr;
}

/** A registry's rows, most specific first, so the first match is the row that decides. */
const rowsOf = (registry: readonly SpecialPurposeBlock[]): Row[] =>
  registry
    .map(({ block, globallyReachable }) => ({ block, cidr: ipaddr.parseCIDR(block), globallyReachable }))
    .sort((a, b) => b.cidr[1] - a.cidr[1]);

const V4_ROWS = rowsOf(IPV4_SPECIAL_REGISTRY);
const V6_ROWS = rowsOf(IPV6_SPECIAL_REGISTRY);

/**
 * The class a refused row reads as in messages; a row not named here is `reserved`. Metadata
 * endpoints sit inside link-local and unique-local space and are named before any row.
 */
const ROW_CLASSES: Record<string, AddressClass> = {
  '0.0.0.0/8': 'unspecified',
  '0.0.0.0/32': 'unspecified',
  '10.0.0.0/8': 'private',
  '172.16.0.0/12': 'private',
  '192.168.0.0/16': 'private',
  '100.64.0.0/10': 'cgnat',
  '127.0.0.0/8': 'loopback',
  '169.254.0.0/16': 'link-local',
  '255.255.255.255/32': 'multicast',
  '::/128': 'unspecified',
  '::1/128': 'loopback',
  'fc00::/7': 'private',
  'fe80::/10': 'link-local',
  '64:ff9b:1::/48': 'private',
};

type Via = NonNullable<ForbiddenAddress['via']>;

/** Refused rows whose message names the IPv6 form too. */
const ROW_VIA: Record<string, Via> = { '64:ff9b:1::/48': 'nat64' };

const cidr = (text: string): Cidr => ipaddr.parseCIDR(text);
const METADATA_V4 = cidr('169.254.169.254/32');
/** fd00:ec2::254, the AWS metadata endpoint over IPv6. */
const METADATA_V6 = cidr('fd00:ec2::254/128');
/** Outside the special-purpose registries: multicast (its own registries), RFC 3879's deprecated site-local, global unicast. */
const MULTICAST_V4 = cidr('224.0.0.0/4');
const MULTICAST_V6 = cidr('ff00::/8');
const SITE_LOCAL_V6 = cidr('fec0::/10');
const GLOBAL_UNICAST_V6 = cidr('2000::/3');
const LOOPBACK_V4 = cidr('127.0.0.0/8');
const LOOPBACK_V6 = cidr('::1/128');

/**
 * IPv6 blocks whose addresses carry an IPv4 address, where it sits (byte offset), and whether a
 * public one inside makes the address public: translators (NAT64) and 6to4 relays connect to the
 * address carried; the mapped and compatible forms are never a real remote host's address.
 * RFC 6145's translated form (::ffff:0:0:0/96) is judged as a mapped one. A carrier applies where
 * no more specific row decides (:: and ::1 are rows of their own inside ::/96).
 */
const CARRIERS = [
  { block: '::ffff:0:0/96', at: 12, via: 'ipv4-mapped', publicPasses: false },
  { block: '::ffff:0:0:0/96', at: 12, via: 'ipv4-mapped', publicPasses: false },
  { block: '::/96', at: 12, via: 'ipv4-compatible', publicPasses: false },
  { block: '64:ff9b::/96', at: 12, via: 'nat64', publicPasses: true },
  { block: '2002::/16', at: 2, via: '6to4', publicPasses: true },
].map((c) => ({ ...c, via: c.via as Via, cidr: cidr(c.block) }));

const inside = (addr: ipaddr.IPv4 | ipaddr.IPv6, range: Cidr) => addr.kind() === range[0].kind() && addr.match(range);

/** The registry row that decides for `addr`: the most specific one containing it. */
const rowFor = (addr: ipaddr.IPv4 | ipaddr.IPv6, rows: Row[]) => rows.find((row) => inside(addr, row.cidr));

/** An address inside a row is refused unless the registry calls the row globally reachable. */
const rowVerdict = (row: Row): AddressClass | undefined =>
  row.globallyReachable === true ? undefined : (ROW_CLASSES[row.block] ?? 'reserved');

function classifyV4(addr: ipaddr.IPv4): AddressClass | undefined {
  if (inside(addr, METADATA_V4)) return 'metadata';
  const row = rowFor(addr, V4_ROWS);
  if (row) return rowVerdict(row);
  return inside(addr, MULTICAST_V4) ? 'multicast' : undefined;
}

function classifyV6(addr: ipaddr.IPv6): ForbiddenAddress | undefined {
  if (inside(addr, METADATA_V6)) return { addressClass: 'metadata' };
  const row = rowFor(addr, V6_ROWS);
  const carrier = CARRIERS.find((c) => inside(addr, c.cidr) && (!row || row.block === c.block));
  if (carrier) {
    const bytes = addr.toByteArray();
    const carried = classifyV4(new ipaddr.IPv4(bytes.slice(carrier.at, carrier.at + 4)));
    if (carried) return { addressClass: carried, via: carrier.via };
    return carrier.publicPasses ? undefined : { addressClass: 'reserved', via: carrier.via };
  }
  if (row) {
    const cls = rowVerdict(row);
    if (!cls) return undefined;
    const via = ROW_VIA[row.block];
    return via ? { addressClass: cls, via } : { addressClass: cls };
  }
  if (inside(addr, MULTICAST_V6)) return { addressClass: 'multicast' };
  if (inside(addr, SITE_LOCAL_V6)) return { addressClass: 'private' };
  return inside(addr, GLOBAL_UNICAST_V6) ? undefined : { addressClass: 'reserved' };
}

/** The address without brackets or a zone, if it is an IP address in the strict forms `net.isIP` accepts. */
function parseStrict(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  // ipaddr.parse also reads legacy IPv4 forms (0x7f.1, 127.1) that a resolver never returns.
  if (family === 0) return undefined;
  return family === 4 ? ipaddr.IPv4.parse(bare) : ipaddr.IPv6.parse(hexTail(bare));
}

/**
 * A dotted IPv4 tail written as two hex groups (`::127.0.0.1` → `::7f00:1`): ipaddr.js reads the
 * deprecated compatible form `::a.b.c.d` as the mapped `::ffff:a.b.c.d`, another address.
 */
function hexTail(text: string): string {
  const m = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) return text;
  const [a, b, c, d] = m.slice(2).map(Number) as [number, number, number, number];
  return `${m[1]!}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * Classify an IP address (IPv4 dotted quad or IPv6, with or without a zone or brackets) against
 * the IANA special-purpose registries (lib/ip-special-registries.ts) and the address architecture.
 * `undefined` means public; anything that is not an IP address at all is `reserved`.
 */
export function classifyAddress(address: string): ForbiddenAddress | undefined {
  const addr = parseStrict(address);
  if (!addr) return { addressClass: 'reserved' };
  if (addr.kind() === 'ipv6') return classifyV6(addr as ipaddr.IPv6);
  const cls = classifyV4(addr as ipaddr.IPv4);
  return cls ? { addressClass: cls } : undefined;
}

/** True for 127.0.0.0/8 and ::1 only (not wrapped forms): what tests may open to their own servers. */
export function isPlainLoopback(address: string): boolean {
  const addr = parseStrict(address);
  if (!addr) return false;
  return inside(addr, addr.kind() === 'ipv4' ? LOOPBACK_V4 : LOOPBACK_V6);
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
  const via = verdict.via
    ? ` (${verdict.via === 'nat64' ? 'NAT64' : verdict.via === '6to4' ? '6to4' : verdict.via.replace('ipv4', 'IPv4')} IPv6)`
    : '';
  return `${ADDRESS_CLASS_LABELS[verdict.addressClass]}${via}`;
}
