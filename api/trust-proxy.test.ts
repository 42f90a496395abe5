import { describe, expect, it } from 'vitest';
import { fastifyTrustProxy, trustProxySetting } from './trust-proxy.js';

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['true', true],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    ['10.0.0.0/8, 192.168.1.1,loopback', ['10.0.0.0/8', '192.168.1.1', 'loopback']],
    ['2001:db8::/32,::1', ['2001:db8::/32', '::1']],
  ])('reads %j as %j', (raw, expected) => {
    expect(trustProxySetting.parse(raw)).toEqual(expected);
  });

  it.each(['yes', '10.0.0.0/33', '::/129', 'proxy.internal', '10.0.0.1/8/1', '10.0.0.1,'])('refuses %j, naming it', (raw) => {
    const result = trustProxySetting.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('CIDR');
  });
});

describe('fastifyTrustProxy', () => {
  it('trusts exactly the nearest N hops for a count', () => {
    const trust = fastifyTrustProxy(2) as (address: string, hop: number) => boolean;
    expect([0, 1, 2].map((hop) => trust('10.0.0.1', hop))).toEqual([true, true, false]);
    expect(fastifyTrustProxy(['loopback'])).toEqual(['loopback']);
  });
});
