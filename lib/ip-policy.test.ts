import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { classifyAddress, classifyHostName, describeForbidden, isPlainLoopback } from './ip-policy.js';
import { IPV4_SPECIAL_REGISTRY, IPV6_SPECIAL_REGISTRY, type SpecialPurposeBlock } from './ip-special-registries.js';

const contains = (block: string, address: string) => {
  const addr = ipaddr.parse(address);
  const range = ipaddr.parseCIDR(block);
  return addr.kind() === range[0].kind() && addr.match(range);
};
const prefixLength = (block: string) => ipaddr.parseCIDR(block)[1];

/** An address in `row` that no more specific row of its registry covers: the row's own verdict. */
function sampleOf(row: SpecialPurposeBlock, registry: readonly SpecialPurposeBlock[]): string {
  const family = row.block.includes(':') ? ipaddr.IPv6 : ipaddr.IPv4;
  const candidates = [family.broadcastAddressFromCIDR(row.block).toString(), family.networkAddressFromCIDR(row.block).toString()];
  const own = candidates.find(
    (a) => !registry.some((r) => r !== row && prefixLength(r.block) > prefixLength(row.block) && contains(r.block, a)),
  );
  if (!own) throw new Error(`no address of ${row.block} outside its more specific rows`);
  return own;
}

/**
 * Rows whose addresses carry an IPv4 address: their verdict is that address's, so the sample
 * carries a public one (the last address of the block would carry 255.255.255.255).
 */
const CARRIERS: Record<string, string> = { '64:ff9b::/96': '64:ff9b::8.8.8.8', '2002::/16': '2002:808:808::1' };

describe('the address policy follows the IANA special-purpose registries, row by row', () => {
  for (const [family, registry] of [
    ['IPv4', IPV4_SPECIAL_REGISTRY],
    ['IPv6', IPV6_SPECIAL_REGISTRY],
  ] as const) {
    for (const row of registry) {
      const sample = CARRIERS[row.block] ?? sampleOf(row, registry);
      const allowed = row.globallyReachable === true || row.block in CARRIERS;
      it(`${family} ${row.block} (${row.name}, ${row.rfc}, globally reachable: ${String(row.globallyReachable)}): ${sample} is ${allowed ? 'allowed' : 'refused'}`, () => {
        expect(contains(row.block, sample)).toBe(true);
        if (allowed) expect(classifyAddress(sample)).toBeUndefined();
        else expect(classifyAddress(sample)).toBeDefined();
      });
    }
  }

  it('transcribes each row once, as a network address, in canonical lower case', () => {
    for (const registry of [IPV4_SPECIAL_REGISTRY, IPV6_SPECIAL_REGISTRY]) {
      const blocks = registry.map((r) => r.block);
      expect(new Set(blocks).size).toBe(blocks.length);
      for (const block of blocks) {
        const [addr, bits] = ipaddr.parseCIDR(block);
        const family = addr.kind() === 'ipv6' ? ipaddr.IPv6 : ipaddr.IPv4;
        expect(`${family.networkAddressFromCIDR(block).toString()}/${bits}`, block).toBe(block);
      }
    }
  });

  it('refuses 3fff::/20, the documentation block of RFC 9637 (2024), which the hand-kept table lacked', () => {
    for (const address of ['3fff::', '3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', '3fff:abc::1']) {
      expect(classifyAddress(address), address).toEqual({ addressClass: 'reserved' });
    }
    expect(classifyAddress('3fff:1000::1')).toBeUndefined(); // just past the /20: global unicast
  });

  it('judges 2001:20::/28 (ORCHIDv2, globally reachable) by its own row, inside a 2001::/23 that is refused', () => {
    // The hand-kept table knew only Teredo and 2001:db8::/32 in 2001::/23, so the rest of the
    // block (not globally reachable) passed, and ORCHIDv2 was allowed by accident, not by its row.
    expect(classifyAddress('2001:20::1')).toBeUndefined();
    expect(classifyAddress('2001:2f:ffff::1')).toBeUndefined();
    expect(classifyAddress('2001:10::1')).toEqual({ addressClass: 'reserved' }); // ORCHID (v1), terminated
    expect(classifyAddress('2001:40::1')).toEqual({ addressClass: 'reserved' }); // no row of its own
    expect(classifyAddress('2001:2::1')).toEqual({ addressClass: 'reserved' }); // benchmarking
    expect(classifyAddress('2001:200::1')).toBeUndefined(); // past the /23: an ordinary allocation
  });

  it('judges addresses carrying an IPv4 address by the address carried', () => {
    const cases: Array<[string, { addressClass: string; via?: string } | undefined]> = [
      ['::ffff:192.168.1.1', { addressClass: 'private', via: 'ipv4-mapped' }],
      ['::ffff:169.254.169.254', { addressClass: 'metadata', via: 'ipv4-mapped' }],
      ['::ffff:0:10.1.2.3', { addressClass: 'private', via: 'ipv4-mapped' }],
      ['::127.0.0.1', { addressClass: 'loopback', via: 'ipv4-compatible' }],
      ['64:ff9b::10.0.0.1', { addressClass: 'private', via: 'nat64' }],
      ['64:ff9b::127.0.0.1', { addressClass: 'loopback', via: 'nat64' }],
      ['64:ff9b::169.254.169.254', { addressClass: 'metadata', via: 'nat64' }],
      ['64:ff9b::100.64.0.1', { addressClass: 'cgnat', via: 'nat64' }],
      ['64:ff9b::192.0.2.1', { addressClass: 'reserved', via: 'nat64' }],
      ['64:ff9b::8.8.8.8', undefined],
      ['2002:c0a8:101::1', { addressClass: 'private', via: '6to4' }],
      ['2002:7f00:1::', { addressClass: 'loopback', via: '6to4' }],
      ['2002:a9fe:a9fe::1', { addressClass: 'metadata', via: '6to4' }],
      ['2002:808:808::1', undefined],
      // Local-use NAT64 (RFC 8215) is not globally reachable whatever it carries.
      ['64:ff9b:1::808:808', { addressClass: 'private', via: 'nat64' }],
      // 64:ff96::/96 is no NAT64 prefix: outside 2000::/3, so refused as reserved.
      ['64:ff96::10.0.0.1', { addressClass: 'reserved' }],
    ];
    for (const [address, verdict] of cases) expect(classifyAddress(address), address).toEqual(verdict);
  });
});

describe('the address policy', () => {
  it('lets public unicast addresses through, IPv4 and IPv6', () => {
    for (const address of [
      '8.8.8.8',
      '93.184.216.34',
      '1.1.1.1',
      '172.32.0.1',
      '100.128.0.1',
      '169.255.0.1',
      '2606:4700:4700::1111',
      '2a00:1450:4001:82b::200e',
      '64:ff9b::808:808',
      '2002:808:808::1',
    ]) {
      expect(classifyAddress(address), address).toBeUndefined();
    }
  });

  it('names the class at the edges of each range', () => {
    const cases: Array<[string, string]> = [
      ['10.255.255.255', 'private'],
      ['172.16.0.0', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.255.255', 'private'],
      ['100.64.0.0', 'cgnat'],
      ['100.127.255.255', 'cgnat'],
      ['169.254.0.1', 'link-local'],
      ['169.254.169.254', 'metadata'],
      ['127.255.255.255', 'loopback'],
      ['0.1.2.3', 'unspecified'],
      ['239.255.255.255', 'multicast'],
      ['198.19.0.1', 'reserved'],
      ['fc00::', 'private'],
      ['fdff:ffff::1', 'private'],
      ['fe80::abcd%eth0', 'link-local'],
      ['febf::1', 'link-local'],
      ['fec0::1', 'private'],
      ['ff0e::1', 'multicast'],
      ['2001:db8::1', 'reserved'],
      ['2001:0:4136:e378::1', 'reserved'],
      ['100::1', 'reserved'],
      ['::ffff:0:7f00:1', 'loopback'],
      ['64:ff9b:1::a00:1', 'private'],
      ['[::1]', 'loopback'],
      ['not-an-ip', 'reserved'],
    ];
    for (const [address, cls] of cases) expect(classifyAddress(address)?.addressClass, address).toBe(cls);
  });

  it('refuses public IPv4 wrapped in the deprecated IPv6 forms, but not in NAT64 or 6to4', () => {
    expect(classifyAddress('::ffff:8.8.8.8')).toEqual({ addressClass: 'reserved', via: 'ipv4-mapped' });
    expect(classifyAddress('::8.8.8.8')).toEqual({ addressClass: 'reserved', via: 'ipv4-compatible' });
    expect(classifyAddress('64:ff9b::8.8.8.8')).toBeUndefined();
  });

  it('takes only the strict address forms a resolver returns; legacy IPv4 spellings are no address', () => {
    for (const text of ['127.1', '0x7f.0.0.1', '2130706433', '017700000001', '::ffff:127.1']) {
      expect(classifyAddress(text), text).toEqual({ addressClass: 'reserved' });
    }
    expect(classifyAddress('[fe80::1%25eth0]')).toEqual({ addressClass: 'link-local' });
  });

  it('allows tests plain loopback only, never its wrapped forms', () => {
    expect(isPlainLoopback('127.0.0.1')).toBe(true);
    expect(isPlainLoopback('127.9.9.9')).toBe(true);
    expect(isPlainLoopback('::1')).toBe(true);
    expect(isPlainLoopback('::ffff:127.0.0.1')).toBe(false);
    expect(isPlainLoopback('10.0.0.1')).toBe(false);
  });

  it('refuses metadata and loopback host names by their text', () => {
    expect(classifyHostName('Metadata.Google.Internal.')).toBe('metadata');
    expect(classifyHostName('instance-data.ec2.internal')).toBe('metadata');
    expect(classifyHostName('api.localhost')).toBe('loopback');
    expect(classifyHostName('images.example.com')).toBeUndefined();
    expect(classifyHostName('localhost.example.com')).toBeUndefined();
  });

  it('reads well in messages', () => {
    expect(describeForbidden({ addressClass: 'loopback', via: 'ipv4-mapped' })).toBe('a loopback address (IPv4-mapped IPv6)');
    expect(describeForbidden({ addressClass: 'private', via: 'nat64' })).toBe('a private-network address (NAT64 IPv6)');
  });
});
