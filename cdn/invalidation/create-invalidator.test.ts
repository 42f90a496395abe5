import { describe, expect, it } from 'vitest';
import { loadCdnConfig } from '../config.js';
import { createInvalidator } from './create-invalidator.js';

const full = {
  VARNISH_URL: 'http://127.0.0.1:6081',
  FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY',
  FASTLY_API_TOKEN: 'token',
  CLOUDFRONT_DISTRIBUTION_ID: 'EDFDVBD6EXAMPLE',
  IMGIX_API_KEY: 'key',
};

describe('CDN_INVALIDATOR configuration and createInvalidator', () => {
  it('defaults to none', () => {
    const config = loadCdnConfig({});
    expect(config.invalidation).toEqual({ driver: 'none' });
    expect(createInvalidator(config.invalidation).name).toBe('none');
  });

  it.each(['none', 'varnish', 'fastly', 'cloudfront', 'imgix'] as const)('builds the %s driver', (driver) => {
    const config = loadCdnConfig({ ...full, CDN_INVALIDATOR: driver });
    expect(config.invalidation.driver).toBe(driver);
    expect(createInvalidator(config.invalidation).name).toBe(driver);
  });

  it('reads the purge options', () => {
    expect(loadCdnConfig({ CDN_INVALIDATOR: 'fastly', ...full, FASTLY_SOFT_PURGE: 'true' }).invalidation).toEqual({
      driver: 'fastly',
      serviceId: full.FASTLY_SERVICE_ID,
      apiToken: full.FASTLY_API_TOKEN,
      soft: true,
    });
    expect(loadCdnConfig({ CDN_INVALIDATOR: 'varnish', VARNISH_URL: full.VARNISH_URL, VARNISH_BAN_FALLBACK: '1' }).invalidation).toEqual({
      driver: 'varnish',
      url: full.VARNISH_URL,
      banFallback: true,
      soft: false,
    });
  });

  it.each([
    ['varnish', 'VARNISH_URL'],
    ['fastly', 'FASTLY_SERVICE_ID'],
    ['fastly', 'FASTLY_API_TOKEN'],
    ['cloudfront', 'CLOUDFRONT_DISTRIBUTION_ID'],
    ['imgix', 'IMGIX_API_KEY'],
  ])('refuses CDN_INVALIDATOR=%s without %s, naming it', (driver, variable) => {
    const env: Record<string, string> = { ...full, CDN_INVALIDATOR: driver };
    delete env[variable];
    expect(() => loadCdnConfig(env)).toThrow(new RegExp(`${variable}: CDN_INVALIDATOR=${driver} needs ${variable}`));
  });

  it('refuses an unknown driver and a VARNISH_URL that is not a URL', () => {
    expect(() => loadCdnConfig({ CDN_INVALIDATOR: 'akamai' })).toThrow(/CDN_INVALIDATOR/);
    expect(() => loadCdnConfig({ CDN_INVALIDATOR: 'varnish', VARNISH_URL: 'varnish:6081' })).toThrow(/VARNISH_URL/);
  });

  it('needs nothing for drivers it does not use', () => {
    expect(() => loadCdnConfig({ CDN_INVALIDATOR: 'imgix', IMGIX_API_KEY: 'key' })).not.toThrow();
  });
});
