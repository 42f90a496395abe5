import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fastlyInvalidator } from './fastly.js';
import { describeInvalidatorConformance } from './invalidator.conformance.js';
import { startFastlyApi, type FastlyApi } from './testing/fastly-api.js';

const cachedUrl = (u: string) => {
  const url = new URL(u);
  return `${url.host}${url.pathname}${url.search}`;
};

describeInvalidatorConformance("fastly (against a local server that checks Fastly's documented purge API)", async () => {
  const credentials = { serviceId: `svc${randomUUID().slice(0, 8)}`, apiToken: randomUUID() };
  const api = await startFastlyApi(credentials);
  return {
    invalidator: fastlyInvalidator({ ...credentials, apiBase: api.url }),
    service: api,
    targetsFor: (keys, urls) => [...keys.map((k) => `key:${k}`), ...urls.map((u) => `url:${cachedUrl(u)}`)],
    purges: { keys: true, urls: true },
    cleanup: () => api.close(),
  };
});

describe("fastlyInvalidator (against a local server that checks Fastly's documented purge API)", () => {
  const credentials = { serviceId: 'SU1Z0isxPaozGVKXdv0eY', apiToken: randomUUID() };
  let api: FastlyApi;

  beforeAll(async () => {
    api = await startFastlyApi(credentials);
  });
  beforeEach(() => {
    api.reset();
    api.log.length = 0;
  });
  afterAll(() => api.close());

  it('sends at most 256 keys per bulk purge', async () => {
    const keys = Array.from({ length: 600 }, (_, i) => `sku:${i}`);
    const result = await fastlyInvalidator({ ...credentials, apiBase: api.url }).purge({ surrogateKeys: keys, urls: [] });
    expect(result).toEqual({ driver: 'fastly', purgedKeys: 600, purgedUrls: 0, requests: 3 });
    expect(api.log.map((e) => e.keys?.length)).toEqual([256, 256, 88]);
    expect(api.log.flatMap((e) => e.keys)).toEqual(keys);
    expect(api.seen().violations).toEqual([]);
  });

  it('asks for a soft purge of keys and URLs when soft is set, and a hard one otherwise', async () => {
    const req = { surrogateKeys: ['asset:a1'], urls: ['https://cdn.example.test/t/acme/assets/a1/manifest.json'] };
    await fastlyInvalidator({ ...credentials, apiBase: api.url, soft: true }).purge(req);
    await fastlyInvalidator({ ...credentials, apiBase: api.url }).purge(req);
    expect(api.log).toEqual([
      { kind: 'keys', keys: ['asset:a1'], soft: true },
      { kind: 'url', cachedUrl: 'cdn.example.test/t/acme/assets/a1/manifest.json', soft: true },
      { kind: 'keys', keys: ['asset:a1'], soft: false },
      { kind: 'url', cachedUrl: 'cdn.example.test/t/acme/assets/a1/manifest.json', soft: false },
    ]);
  });

  it('reports a refused token as a non-retryable CDN_PURGE_FAILED (502)', async () => {
    const err = await fastlyInvalidator({ ...credentials, apiToken: 'wrong', apiBase: api.url })
      .purge({ surrogateKeys: ['asset:a1'], urls: [] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 502, code: 'CDN_PURGE_FAILED', details: { retryable: false, cdnStatus: 401 } });
  });

  it('reports an unknown service as a non-retryable CDN_PURGE_FAILED (502)', async () => {
    const err = await fastlyInvalidator({ ...credentials, serviceId: 'nope', apiBase: api.url })
      .purge({ surrogateKeys: ['asset:a1'], urls: [] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 502, code: 'CDN_PURGE_FAILED', details: { cdnStatus: 404 } });
  });

  it('(the local API itself) refuses 257 keys in one bulk purge', async () => {
    const res = await fetch(`${api.url}/service/${credentials.serviceId}/purge`, {
      method: 'POST',
      headers: { 'Fastly-Key': credentials.apiToken, 'Surrogate-Key': Array.from({ length: 257 }, (_, i) => `k${i}`).join(' ') },
    });
    expect(res.status).toBe(400);
    expect(api.seen().violations).toEqual([expect.stringContaining('257 keys')]);
  });
});
