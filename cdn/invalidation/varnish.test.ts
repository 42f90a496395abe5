import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { startVarnish, type VarnishHandle } from '../../test/varnish.js';
import { describeInvalidatorConformance, type InvalidatorSubject } from './invalidator.conformance.js';
import { startTestOrigin, type TestOrigin } from './testing/origin.js';
import { startVarnishFront } from './testing/varnish-front.js';
import { varnishInvalidator } from './varnish.js';

const MUTABLE = 'public, max-age=60, must-revalidate';

/** A real varnishd in front of a local origin, with the recorder between driver and Varnish. */
async function varnishSubject(banFallback: boolean): Promise<InvalidatorSubject> {
  const origin = await startTestOrigin();
  const varnish = await startVarnish({ origin: origin.url });
  const front = await startVarnishFront(varnish.url);
  return {
    invalidator: varnishInvalidator({ url: front.url, banFallback }),
    service: front,
    targetsFor: (keys, urls) => [...keys.map((k) => `key:${k}`), ...urls.map((u) => `url:${new URL(u).pathname}`)],
    purges: { keys: true, urls: true },
    async cleanup() {
      await front.close();
      await varnish.stop();
      await origin.close();
    },
  };
}

describeInvalidatorConformance('varnish (a real varnishd running cdn/varnish/default.vcl, xkey PURGE)', () => varnishSubject(false));
describeInvalidatorConformance('varnish with banFallback (a real varnishd, key BANs)', () => varnishSubject(true));

describe('Varnish with cdn/varnish/default.vcl (real varnishd)', () => {
  let origin: TestOrigin;
  let varnish: VarnishHandle;
  const object = (cacheControl = MUTABLE, surrogateKey?: string) => {
    const path = `/t/${randomUUID()}/assets/a1/manifest.json`;
    origin.set(path, { body: 'v1', cacheControl, ...(surrogateKey ? { surrogateKey } : {}) });
    return path;
  };
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(varnish.url + path, { headers });
    return { status: res.status, cache: res.headers.get('x-cache'), body: await res.text(), headers: res.headers };
  };
  const driver = (options: { banFallback?: boolean; soft?: boolean } = {}) => varnishInvalidator({ url: varnish.url, ...options });

  beforeAll(async () => {
    origin = await startTestOrigin();
    varnish = await startVarnish({ origin: origin.url });
  });
  afterAll(async () => {
    await varnish?.stop();
    await origin?.close();
  });

  it('misses, hits, and after a purge by surrogate key misses again with the new body', async () => {
    const key = `asset:${randomUUID()}`;
    const path = object(MUTABLE, `${key} tenant:acme`);
    expect(await get(path)).toMatchObject({ status: 200, cache: 'MISS', body: 'v1' });
    expect(await get(path)).toMatchObject({ cache: 'HIT', body: 'v1' });
    origin.set(path, { body: 'v2', cacheControl: MUTABLE, surrogateKey: key });

    const result = await driver().purge({ surrogateKeys: [key], urls: [] });
    expect(result).toEqual({ driver: 'varnish', purgedKeys: 1, purgedUrls: 0, requests: 1 });
    expect(await get(path)).toMatchObject({ cache: 'MISS', body: 'v2' });
    expect(await get(path)).toMatchObject({ cache: 'HIT', body: 'v2' });
    expect(origin.hits(path)).toBe(2);
  });

  it('purging key A leaves objects tagged only with key B cached', async () => {
    const [a, b] = [`sku:${randomUUID()}`, `sku:${randomUUID()}`];
    const onlyA = object(MUTABLE, a);
    const onlyB = object(MUTABLE, b);
    const both = object(MUTABLE, `${a} ${b}`);
    for (const p of [onlyA, onlyB, both]) await get(p);
    await driver().purge({ surrogateKeys: [a], urls: [] });
    expect((await get(onlyA)).cache).toBe('MISS');
    expect((await get(both)).cache).toBe('MISS');
    expect((await get(onlyB)).cache).toBe('HIT');
  });

  it('BANs exactly the purged URL and no other', async () => {
    const key = `asset:${randomUUID()}`;
    // Public keys only reach the origin: one stable URL whose path is a prefix of another's.
    const base = `/t/${randomUUID()}/assets/a1/latest/`;
    const [purged, sibling, prefixed] = [`${base}200.jpg`, `${base}300.jpg`, `${base}2000.jpg`];
    origin.set(purged, { body: 'x', cacheControl: MUTABLE, surrogateKey: key });
    origin.set(sibling, { body: 'x', cacheControl: MUTABLE, surrogateKey: key });
    origin.set(prefixed, { body: 'x', cacheControl: MUTABLE });
    for (const p of [purged, sibling, prefixed]) await get(p);
    const result = await driver().purge({ surrogateKeys: [], urls: [`https://cdn.example.test${purged}`] });
    expect(result).toEqual({ driver: 'varnish', purgedKeys: 0, purgedUrls: 1, requests: 1 });
    expect((await get(purged)).cache).toBe('MISS');
    expect((await get(sibling)).cache).toBe('HIT');
    expect((await get(prefixed)).cache).toBe('HIT');
  });

  it('banFallback purges by key with BAN, matching whole keys only', async () => {
    const id = randomUUID();
    const dotted = object(MUTABLE, `tpl:${id}:v1.2`);
    const lookalike = object(MUTABLE, `tpl:${id}:v1x2`); // `.` must not match any character
    const longer = object(MUTABLE, `other tpl:${id}:v1.2.3`);
    for (const p of [dotted, lookalike, longer]) await get(p);
    await driver({ banFallback: true }).purge({ surrogateKeys: [`tpl:${id}:v1.2`], urls: [] });
    expect((await get(dotted)).cache).toBe('MISS');
    expect((await get(lookalike)).cache).toBe('HIT');
    expect((await get(longer)).cache).toBe('HIT');
  });

  it('keeps immutable objects cached past their max-age, while others are refetched', async () => {
    const immutable = object('public, max-age=1, immutable');
    const plain = object('public, max-age=1');
    await get(immutable);
    await get(plain);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await get(immutable)).cache).toBe('HIT');
    await get(plain); // stale: served from grace while Varnish refetches in the background
    await expect.poll(() => origin.hits(plain), { timeout: 2000 }).toBe(2);
    expect(origin.hits(immutable)).toBe(1);
  });

  it('gives Age 0 only for objects it keeps longer than browsers may; others keep their true Age', async () => {
    const held = object('public, max-age=60, s-maxage=31536000');
    const immutable = object('public, max-age=31536000, immutable');
    const plain = object('public, max-age=60');
    for (const p of [held, immutable, plain]) await get(p);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await get(held)).headers.get('age')).toBe('0');
    expect((await get(immutable)).headers.get('age')).toBe('0');
    const { cache, headers } = await get(plain);
    expect(cache).toBe('HIT');
    expect(Number(headers.get('age'))).toBeGreaterThanOrEqual(1);
  });

  it('soft purge serves the stale object once while it refetches, then the new one', async () => {
    const key = `asset:${randomUUID()}`;
    const path = object(MUTABLE, key);
    await get(path);
    origin.set(path, { body: 'v2', cacheControl: MUTABLE, surrogateKey: key });
    await driver({ soft: true }).purge({ surrogateKeys: [key], urls: [] });
    expect(await get(path)).toMatchObject({ cache: 'HIT', body: 'v1' });
    await expect.poll(async () => (await get(path)).body, { timeout: 2000 }).toBe('v2');
    expect(origin.hits(path)).toBe(2);
  });

  it('hides surrogate keys and internal headers from clients, and caches despite cookies', async () => {
    const path = object(MUTABLE, `asset:${randomUUID()}`);
    await get(path, { cookie: 'session=abc' });
    const { cache, headers } = await get(path, { cookie: 'session=def' });
    expect(cache).toBe('HIT');
    for (const h of ['xkey', 'surrogate-key', 'x-url', 'x-varnish']) expect(headers.has(h), h).toBe(false);
    expect(headers.get('cache-control')).toBe(MUTABLE);
  });

  it('does not cache private answers', async () => {
    const path = object('private, max-age=60');
    await get(path);
    expect((await get(path)).cache).toBe('MISS');
    expect(origin.hits(path)).toBe(2);
  });

  it('answers a PURGE without xkey header with 400', async () => {
    const res = await fetch(`${varnish.url}/`, { method: 'PURGE' });
    expect(res.status).toBe(400);
    await res.arrayBuffer();
  });
});

describe('Varnish purge ACL (real varnishd whose purgers exclude 127.0.0.1)', () => {
  let origin: TestOrigin;
  let varnish: VarnishHandle;

  beforeAll(async () => {
    origin = await startTestOrigin();
    varnish = await startVarnish({ origin: origin.url, purgers: ['192.0.2.1', '10.0.0.0/8'] });
  });
  afterAll(async () => {
    await varnish?.stop();
    await origin?.close();
  });

  it('refuses PURGE and BAN from other addresses with 403; the driver fails without retry and the object stays', async () => {
    const key = `asset:${randomUUID()}`;
    const path = `/t/${randomUUID()}/assets/a1/manifest.json`;
    origin.set(path, { body: 'v1', cacheControl: MUTABLE, surrogateKey: key });
    await (await fetch(varnish.url + path)).text();

    for (const method of ['PURGE', 'BAN']) {
      const res = await fetch(`${varnish.url}${path}`, { method, headers: { xkey: key } });
      expect(res.status, method).toBe(403);
      await res.arrayBuffer();
    }
    const err = await varnishInvalidator({ url: varnish.url })
      .purge({ surrogateKeys: [key], urls: [`https://cdn.example.test${path}`] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 502, code: 'CDN_PURGE_FAILED', details: { retryable: false, cdnStatus: 403 } });
    expect((await fetch(varnish.url + path)).headers.get('x-cache')).toBe('HIT');
  });
});
