import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { cloudfrontInvalidator } from './cloudfront.js';
import { describeInvalidatorConformance } from './invalidator.conformance.js';
import { startCloudFrontApi, type CloudFrontApi, type CloudFrontApiOptions } from './testing/cloudfront-api.js';

/** An SDK client pointed at the local API; no SDK retries, so every call is one request. */
const clientFor = (api: CloudFrontApi, credentials = api.credentials) =>
  new CloudFrontClient({ region: 'us-east-1', endpoint: api.url, credentials, maxAttempts: 1 });

const keyPath = (key: string) => `/by-key/${key}/manifest.json`;
const pathOf = (u: string) => {
  const url = new URL(u);
  return url.pathname + url.search;
};

describeInvalidatorConformance(
  "cloudfront (against a local server that checks CloudFront's documented CreateInvalidation API)",
  async () => {
    const distributionId = `E${randomUUID().slice(0, 12).toUpperCase()}`;
    const api = await startCloudFrontApi({ distributionId });
    const client = clientFor(api);
    return {
      invalidator: cloudfrontInvalidator({ distributionId, client, keyPaths: (k) => [keyPath(k)] }),
      service: api,
      targetsFor: (keys, urls) => [...keys.map((k) => `url:${keyPath(k)}`), ...urls.map((u) => `url:${pathOf(u)}`)],
      purges: { keys: true, urls: true },
      async cleanup() {
        client.destroy();
        await api.close();
      },
    };
  },
);

describe("cloudfrontInvalidator (against a local server that checks CloudFront's documented CreateInvalidation API)", () => {
  const distributionId = 'EDFDVBD6EXAMPLE';
  const opened: CloudFrontApi[] = [];
  const start = async (options: Partial<CloudFrontApiOptions> = {}) => {
    const api = await startCloudFrontApi({ distributionId, ...options });
    opened.push(api);
    return api;
  };
  const urls = (n: number) => {
    const id = randomUUID();
    return Array.from({ length: n }, (_, i) => `https://d111111abcdef8.cloudfront.net/t/${id}/assets/a${i}/manifest.json`);
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((a) => a.close()));
  });

  it('keeps each invalidation within 3,000 paths and 15 wildcards, every path once, each with its own CallerReference', async () => {
    const api = await start();
    const keys = Array.from({ length: 20 }, (_, i) => `asset:acme:a${i}`);
    const invalidator = cloudfrontInvalidator({
      distributionId,
      client: clientFor(api),
      keyPaths: (k) => [`/t/acme/assets/${k.split(':')[2]}/*`],
    });
    const result = await invalidator.purge({ surrogateKeys: keys, urls: urls(3500) });
    expect(result).toMatchObject({ driver: 'cloudfront', purgedKeys: 20, purgedUrls: 3500 });
    expect(result.requests).toBe(api.invalidations.length);
    for (const inv of api.invalidations) {
      expect(inv.paths.length).toBeLessThanOrEqual(3000);
      expect(inv.paths.filter((p) => p.endsWith('*')).length).toBeLessThanOrEqual(15);
    }
    const all = api.invalidations.flatMap((i) => i.paths);
    expect(all.length).toBe(3520);
    expect(new Set(all).size).toBe(3520);
    expect(new Set(api.invalidations.map((i) => i.callerReference)).size).toBe(api.invalidations.length);
    expect(api.seen().violations).toEqual([]);
  });

  it('backs off while too many invalidations are in progress, then succeeds', async () => {
    // Long enough that the second batch always finds the first in progress, even on a busy machine.
    const api = await start({ completeAfterMs: 1500 });
    const invalidator = cloudfrontInvalidator({
      distributionId,
      client: clientFor(api),
      backoff: { attempts: 40, baseMs: 50, maxMs: 200 },
    });
    const started = Date.now();
    const result = await invalidator.purge({ surrogateKeys: [], urls: urls(4000) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(api.invalidations.map((i) => i.paths.length)).toEqual([3000, 1000]);
    expect(result.requests).toBeGreaterThan(2); // at least one TooManyInvalidationsInProgress
    expect(result.requests).toBe(api.seen().requests);
    // A retried batch keeps its CallerReference, so a lost answer cannot create a second invalidation.
    expect(new Set(api.invalidations.map((i) => i.callerReference)).size).toBe(2);
  });

  it('gives up with a retryable CDN_PURGE_FAILED and a retryAfterMs when the limit does not clear', async () => {
    const api = await start({ completeAfterMs: 60_000 });
    const invalidator = cloudfrontInvalidator({ distributionId, client: clientFor(api), backoff: { attempts: 3, baseMs: 10, maxMs: 40 } });
    const err = await invalidator.purge({ surrogateKeys: [], urls: urls(3001) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ status: 503, code: 'CDN_PURGE_FAILED', details: { retryable: true, retryAfterMs: 40 } });
    expect(api.seen().requests).toBe(4); // the first batch, then three tries of the second
  });

  it('ignores surrogate keys without keyPaths (CloudFront has none)', async () => {
    const api = await start();
    const result = await cloudfrontInvalidator({ distributionId, client: clientFor(api) }).purge({ surrogateKeys: ['asset:a1'], urls: [] });
    expect(result).toEqual({ driver: 'cloudfront', purgedKeys: 0, purgedUrls: 0, requests: 0 });
    expect(api.seen().requests).toBe(0);
  });

  it('refuses keyPaths that are not CloudFront paths as BAD_REQUEST', async () => {
    const api = await start();
    for (const bad of ['no-slash', '/a/*/b', '/with space']) {
      const err = await cloudfrontInvalidator({ distributionId, client: clientFor(api), keyPaths: () => [bad] })
        .purge({ surrogateKeys: ['asset:a1'], urls: [] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, bad).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    }
    expect(api.seen().requests).toBe(0);
  });

  it('reports refused credentials and an unknown distribution as non-retryable CDN_PURGE_FAILED (502)', async () => {
    const api = await start();
    const wrongKey = clientFor(api, { accessKeyId: 'AKIDWRONG', secretAccessKey: 'x' });
    const cases = [
      cloudfrontInvalidator({ distributionId, client: wrongKey }),
      cloudfrontInvalidator({ distributionId: 'ENOSUCHDIST', client: clientFor(api) }),
    ];
    for (const invalidator of cases) {
      const err = await invalidator.purge({ surrogateKeys: [], urls: urls(1) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ status: 502, code: 'CDN_PURGE_FAILED', details: { retryable: false } });
    }
    expect(api.seen().violations).toEqual([]);
  });

  it('(the local API itself) refuses a request signed for another region or with a tampered signature', async () => {
    const api = await start();
    const elsewhere = new CloudFrontClient({ region: 'eu-west-1', endpoint: api.url, credentials: api.credentials, maxAttempts: 1 });
    const tampered = clientFor(api, { ...api.credentials, secretAccessKey: 'not-the-secret' });
    for (const client of [elsewhere, tampered]) {
      const err = await cloudfrontInvalidator({ distributionId, client })
        .purge({ surrogateKeys: [], urls: urls(1) })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toMatchObject({ code: 'CDN_PURGE_FAILED', details: { cdnStatus: 403 } });
    }
    expect(api.seen().violations).toEqual([
      expect.stringContaining('CloudFront needs us-east-1/cloudfront'),
      expect.stringContaining('signature does not match'),
    ]);
    expect(api.invalidations).toEqual([]);
  });
});
