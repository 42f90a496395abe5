import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../faults/fault-proxy.js';
import { createTenant, fixture, keyedFetch, startTestService, upload, waitForRun, type TestService } from '../harness.js';
import { startS3rver, type S3rverHandle } from '../s3rver.js';
import { freePort, startVarnish, type VarnishHandle } from '../varnish.js';

const RECIPE = { steps: [{ name: 'render', options: { widths: [200], formats: ['jpeg'] } }] };

/** What one edge test needs: Varnish in front of a recording proxy in front of the origin. */
interface Edge {
  varnish: VarnishHandle;
  /** Between Varnish and the origin: its request log is what reached the origin. */
  proxy: FaultProxy;
  service: TestService;
  /** URL path before an object key: `/files/` or `/<bucket>/`. */
  prefix: string;
  stop(): Promise<void>;
}

async function edgeInFrontOfFiles(): Promise<Edge> {
  const port = await freePort();
  const proxy = await startFaultProxy({ host: '127.0.0.1', port });
  const varnish = await startVarnish({ origin: proxy.url, keyPrefix: '/files/' });
  const service = await startTestService({
    PORT: String(port),
    PUBLIC_BASE_URL: `${varnish.url}/files`,
    CDN_INVALIDATOR: 'varnish',
    VARNISH_URL: varnish.url,
  });
  return {
    varnish,
    proxy,
    service,
    prefix: '/files/',
    stop: async () => {
      await service.stop();
      await varnish.stop();
      await proxy.close();
    },
  };
}

async function edgeInFrontOfS3rver(): Promise<Edge> {
  const s3: S3rverHandle = await startS3rver();
  const bucket = await s3.bucket();
  const target = new URL(s3.endpoint);
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  // s3rver reads a Host it does not know as a bucket name (CNAME style): send it its own.
  const varnish = await startVarnish({ origin: proxy.url, keyPrefix: `/${bucket}/`, originHost: target.host });
  const service = await startTestService({
    ...s3.serviceEnv(bucket),
    PUBLIC_BASE_URL: `${varnish.url}/${bucket}`,
    CDN_INVALIDATOR: 'varnish',
    VARNISH_URL: varnish.url,
  });
  return {
    varnish,
    proxy,
    service,
    prefix: `/${bucket}/`,
    stop: async () => {
      await service.stop();
      await varnish.stop();
      await proxy.close();
      await s3.stop();
    },
  };
}

/** A request with any Host (fetch cannot set one) and, when given, any request target. */
function rawGet(
  url: string,
  headers: Record<string, string>,
  method = 'GET',
  target?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ...(target ? { path: target } : {}) }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

for (const [origin, start] of [
  ['the API /files route', edgeInFrontOfFiles],
  ['s3rver', edgeInFrontOfS3rver],
] as const) {
  describe(`the edge (real varnishd with cdn/varnish/default.vcl) in front of ${origin} fronts only what is public`, () => {
    let edge: Edge;
    let tenantId: string;
    let assetId: string;
    let originalKey: string;
    let publicUrls: string[];
    /** Requests that reached the origin so far. */
    const originRequests = () => edge.proxy.stats().requests.filter((r) => !r.startsWith('PURGE') && !r.startsWith('BAN'));
    const at = (path: string) => `${edge.varnish.url}${path}`;

    beforeAll(async () => {
      edge = await start();
      let key: string;
      ({ key, tenantId } = await createTenant(edge.service));
      const form = { recipe: RECIPE, filename: 'fish.jpg' };
      const res = await upload(edge.service, key, await readFile(fixture('HappyFish.jpg')), form);
      expect(res.status).toBe(202);
      const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
      assetId = body.asset.id;
      const run = await waitForRun(edge.service, key, body.run.id, 120_000);
      expect(run.state).toBe('completed');
      const api = keyedFetch(
        () => edge.service,
        () => key,
      );
      // The publish purges the stable URLs just after the run ends: let it land before caching them.
      for (const deadline = Date.now() + 30_000; ;) {
        const { purge } = (await (await api(`/v1/runs/${run.id}`)).json()) as { purge?: { state: string } };
        if (purge?.state === 'completed') break;
        if (Date.now() > deadline) throw new Error(`the publish purge is still ${purge?.state} after 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const asset = (await (await api(`/v1/assets/${assetId}`)).json()) as {
        original: { key?: string; sha256: string };
        manifest: { renditions: Array<{ url: string }> };
      };
      originalKey = asset.original.key ?? `t/${tenantId}/originals/${asset.original.sha256}.jpg`;
      publicUrls = [
        run.outputs!.manifestUrl,
        asset.manifest.renditions[0]!.url,
        at(`${edge.prefix}t/${tenantId}/assets/${assetId}/latest/200.jpg`),
      ];
    }, 180_000);
    afterAll(async () => edge?.stop());

    it('serves and caches the public objects: manifest, rendition, stable URL', async () => {
      for (const url of publicUrls) {
        expect(url.startsWith(edge.varnish.url), url).toBe(true);
        const first = await fetch(url);
        expect(first.status, url).toBe(200);
        await first.arrayBuffer();
        const second = await fetch(url);
        expect(second.headers.get('x-cache'), url).toBe('HIT');
        await second.arrayBuffer();
      }
    });

    it('answers every other URL with a synthetic 404 that never reaches the origin', async () => {
      const paths = [
        '/metrics',
        '/openapi.json',
        '/docs',
        '/docs/json',
        '/readyz',
        '/healthz',
        '/v1/tenants',
        '/',
        `${edge.prefix}${originalKey}`,
        `${edge.prefix}t/${tenantId}/assets/${assetId}/asset.json`,
        `${edge.prefix}t/${tenantId}/assets/${assetId}/published.json`,
        // Bucket listings, path-style and by query.
        edge.prefix,
        edge.prefix.replace(/\/$/, ''),
        `${edge.prefix}?list-type=2&prefix=t/`,
        `/?list-type=2`,
        `${edge.prefix}t/${tenantId}/`,
        // Near misses of public keys.
        `${edge.prefix}t/${tenantId}/assets/${assetId}/manifest.json.bak`,
        `${edge.prefix}t/${tenantId}/assets/${assetId}/latest/../asset.json`,
        `${edge.prefix}t/${tenantId}/assets/${assetId}/latest/%2e%2e/asset.json`,
        `${edge.prefix}t%2F${tenantId}%2Fassets%2F${assetId}%2Fasset.json`,
      ];
      const before = originRequests().length;
      for (const path of paths) {
        for (const method of ['GET', 'HEAD']) {
          const res = await rawGet(at(path), {}, method);
          expect(res.status, `${method} ${path}`).toBe(404);
          expect(res.headers['cache-control'], path).toBe('no-store');
        }
      }
      expect(originRequests().slice(before)).toEqual([]);
    });

    it('relays no method but GET and HEAD, not even on a public key', async () => {
      const before = originRequests().length;
      const url = new URL(publicUrls[1]!);
      for (const method of ['PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS']) {
        const res = await rawGet(url.href, { 'content-length': '0' }, method);
        expect(res.status, method).toBe(405);
        expect(res.headers.allow).toBe('GET, HEAD');
      }
      expect(originRequests().slice(before)).toEqual([]);
      expect((await fetch(url)).status).toBe(200);
    });

    it('keeps one cache object per URL whatever the Host, query string, cookie or credentials', async () => {
      // Every variant below must find the object this first request cached, not make another.
      const stable = new URL(publicUrls[2]!).pathname;
      await (await fetch(at(stable))).arrayBuffer();
      const before = originRequests().length;
      const variants: Array<[string, Record<string, string>]> = [
        [stable, { host: 'a.example' }],
        [stable, { host: 'b.example:8080' }],
        [stable, { host: 'CDN.EXAMPLE.TEST' }],
        [`${stable}?v=1`, { host: 'a.example' }],
        [`${stable}?acl`, { host: 'c.example' }],
        [stable, { host: 'd.example', cookie: 'session=1', authorization: 'Bearer x' }],
      ];
      // An absolute-form target, as a proxy sends it, with another host in it (varnishd takes its path).
      variants.push([`http://e.example${stable}?v=3`, { host: 'e.example' }]);
      for (const [p, headers] of variants) {
        const res = await rawGet(p.startsWith('http:') ? edge.varnish.url : at(p), headers, 'GET', p.startsWith('http:') ? p : undefined);
        expect(res.status, `${p} ${JSON.stringify(headers)}`).toBe(200);
        expect(res.headers['x-cache'], `${p} ${JSON.stringify(headers)}`).toBe('HIT');
      }
      expect(originRequests().slice(before)).toEqual([]);
    });

    it('gives browsers Age 0 for objects the edge keeps longer than they may', async () => {
      // Cached: the mutable manifest and stable URL until purged (s-maxage), the rendition for a year.
      for (const url of publicUrls) await (await fetch(url)).arrayBuffer();
      await new Promise((r) => setTimeout(r, 2100));
      for (const url of publicUrls) {
        const res = await fetch(url);
        await res.arrayBuffer();
        expect(res.headers.get('x-cache'), url).toBe('HIT');
        expect(res.headers.get('age'), url).toBe('0');
      }
    });
  });
}
