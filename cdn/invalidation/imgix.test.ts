import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { imgixInvalidator } from './imgix.js';
import { describeInvalidatorConformance } from './invalidator.conformance.js';
import { startImgixApi, type ImgixApi } from './testing/imgix-api.js';

describeInvalidatorConformance("imgix (against a local server that checks imgix's documented purge API)", async () => {
  const apiKey = randomUUID();
  const api = await startImgixApi({ apiKey });
  return {
    invalidator: imgixInvalidator({ apiKey, apiBase: api.url }),
    service: api,
    // imgix has no surrogate keys: only URLs reach it.
    targetsFor: (_keys, urls) => urls.map((u) => `url:${u}`),
    purges: { keys: false, urls: true },
    cleanup: () => api.close(),
  };
});

describe("imgixInvalidator (against a local server that checks imgix's documented purge API)", () => {
  const apiKey = randomUUID();
  let api: ImgixApi;
  const url = () => `https://acme.imgix.net/t/acme/assets/${randomUUID()}/manifest.json`;

  beforeAll(async () => {
    api = await startImgixApi({ apiKey });
  });
  beforeEach(() => api.reset());
  afterAll(() => api.close());

  it('counts the 409 of a repeated purge within 10 s as success (imgix still purges)', async () => {
    const invalidator = imgixInvalidator({ apiKey, apiBase: api.url });
    const u = url();
    await invalidator.purge({ surrogateKeys: [], urls: [u] });
    await expect(invalidator.purge({ surrogateKeys: [], urls: [u] })).resolves.toEqual({
      driver: 'imgix',
      purgedKeys: 0,
      purgedUrls: 1,
      requests: 1,
    });
    expect(api.seen()).toMatchObject({ requests: 2, violations: [] });
  });

  it('purges the base URL once for URLs that differ only by parameters', async () => {
    const u = url();
    const result = await imgixInvalidator({ apiKey, apiBase: api.url }).purge({
      surrogateKeys: [],
      urls: [`${u}?w=400`, `${u}?w=800&fm=avif`, u],
    });
    expect(result).toEqual({ driver: 'imgix', purgedKeys: 0, purgedUrls: 1, requests: 1 });
    expect(api.seen().targets).toEqual([`url:${u}`]);
  });

  it('reports a refused API key as a non-retryable CDN_PURGE_FAILED (502)', async () => {
    const err = await imgixInvalidator({ apiKey: 'wrong', apiBase: api.url })
      .purge({ surrogateKeys: [], urls: [url()] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 502, code: 'CDN_PURGE_FAILED', details: { retryable: false, cdnStatus: 401 } });
  });

  it('(the local API itself) refuses a body that is not the documented JSON:API document', async () => {
    const res = await fetch(`${api.url}/api/v1/purge`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/vnd.api+json' },
      body: JSON.stringify({ url: url() }),
    });
    expect(res.status).toBe(400);
    expect(api.seen().violations).toEqual([expect.stringContaining('body must be')]);
  });

  it('stays within 10 purge requests per second', async () => {
    // Its own local API: the limit is per account, so earlier tests' requests would count too.
    const own = await startImgixApi({ apiKey });
    try {
      const started = Date.now();
      const result = await imgixInvalidator({ apiKey, apiBase: own.url }).purge({
        surrogateKeys: [],
        urls: Array.from({ length: 15 }, url),
      });
      expect(result.requests).toBe(15);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(own.seen()).toMatchObject({ requests: 15, violations: [] });
    } finally {
      await own.close();
    }
  });
});
