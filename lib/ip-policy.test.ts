import { describe, expect, it } from 'vitest';
import { classifyAddress, classifyHostName, describeForbidden, isPlainLoopback, parseIPv6 } from './ip-policy.js';

describe('the address policy', () => {
  it('lets public unicast addresses through, IPv4 and IPv6', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '64:ff9b::808:808', '2002:808:808::1']) {
      expect(classifyAddress(address), address).toBeUndefined();
    }
  });

  it('names the class at the edges of each range', () => {
    const cases: Array<[string, string]> = [
      ['10.255.255.255', 'private'], ['172.16.0.0', 'private'], ['172.31.255.255', 'private'], ['192.168.255.255', 'private'],
      ['100.64.0.0', 'cgnat'], ['100.127.255.255', 'cgnat'], ['169.254.0.1', 'link-local'], ['169.254.169.254', 'metadata'],
      ['127.255.255.255', 'loopback'], ['0.1.2.3', 'unspecified'], ['239.255.255.255', 'multicast'], ['198.19.0.1', 'reserved'],
      ['fc00::', 'private'], ['fdff:ffff::1', 'private'], ['fe80::abcd%eth0', 'link-local'], ['febf::1', 'link-local'],
      ['fec0::1', 'private'], ['ff0e::1', 'multicast'], ['2001:db8::1', 'reserved'], ['2001:0:4136:e378::1', 'reserved'],
      ['100::1', 'reserved'], ['::ffff:0:7f00:1', 'loopback'], ['64:ff9b:1::a00:1', 'private'], ['[::1]', 'loopback'],
      ['not-an-ip', 'reserved'],
    ];
    for (const [address, cls] of cases) expect(classifyAddress(address)?.addressClass, address).toBe(cls);
  });

  it('refuses public IPv4 wrapped in the deprecated IPv6 forms, but not in NAT64 or 6to4', () => {
    expect(classifyAddress('::ffff:8.8.8.8')).toEqual({ addressClass: 'reserved', via: 'ipv4-mapped' });
    expect(classifyAddress('::8.8.8.8')).toEqual({ addressClass: 'reserved', via: 'ipv4-compatible' });
    expect(classifyAddress('64:ff9b::8.8.8.8')).toBeUndefined();
  });

  it('parses IPv6 text, dotted tails included', () => {
    expect(Buffer.from(parseIPv6('::ffff:127.0.0.1')!).toString('hex')).toBe('00000000000000000000ffff7f000001');
    expect(Buffer.from(parseIPv6('fd00:ec2::254')!).toString('hex')).toBe('fd000ec2000000000000000000000254');
    expect(Buffer.from(parseIPv6('1:2:3:4:5:6:7:8')!).toString('hex')).toBe('00010002000300040005000600070008');
    expect(parseIPv6('1.2.3.4')).toBeUndefined();
    expect(parseIPv6('1::2::3')).toBeUndefined();
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
