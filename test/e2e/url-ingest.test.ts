import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countKeys, createTenant, fixture, startTestService, type TestService } from '../harness.js';

/**
 * POST /v1/assets/from-url on real parts. The origin is a local server, reachable because this
 * test service allows loopback; every refusal below targets a loopback-equivalent address, so even
 * a broken guard could not send a packet off this machine.
 */
describe('URL ingest', () => {
  let service: TestService;
  let key: string;
  let origin: Server;
  let base = '';
  let port = 0;
  const requests: string[] = [];
  let fish: Buffer;
  let coffee: Buffer;

  beforeAll(async () => {
    fish = await readFile(fixture('HappyFish.jpg'));
    coffee = await readFile(fixture('coffee.png'));
    origin = createServer((req, res) => {
      requests.push(req.url ?? '');
      const routes: Record<string, () => void> = {
        '/fish.jpg': () => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(fish),
        '/coffee.png': () => res.writeHead(200).end(coffee),
        '/page.html': () => res.writeHead(200, { 'content-type': 'image/jpeg' }).end('<html></html>'),
        '/truncated.jpg': () => res.writeHead(200).end(fish.subarray(0, 3000)),
        '/moved': () => res.writeHead(302, { location: '/fish.jpg' }).end(),
        '/to-mapped': () => res.writeHead(302, { location: `http://[::ffff:127.0.0.1]:${port}/fish.jpg` }).end(),
      };
      (routes[req.url ?? ''] ?? (() => res.writeHead(404).end()))();
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    port = (origin.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
    // No render workers: runs stay queued, so the test sees what ingest did and nothing more.
    service = await startTestService({ URL_FETCH_ALLOW_LOOPBACK: 'true', WORKER_QUEUES: 'publish', MAX_UPLOAD_BYTES: '200000' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
    origin?.closeAllConnections();
    await new Promise((resolve) => origin?.close(resolve));
  });

  const ingest = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${service.url}/v1/assets/from-url`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; details?: Record<string, unknown> } }).error;

  it('fetches, inspects and stores an original and starts its run, answering 202 like an upload', async () => {
    const res = await ingest({ url: `${base}/moved`, sku: 'FISH-1', recipe: { steps: [{ name: 'render', options: { widths: [64] } }] } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      asset: { id: string; sku: string; original: Record<string, unknown> };
      run: { id: string; state: string };
      reused: boolean;
      finalUrl: string;
    };
    expect(body.finalUrl).toBe(`${base}/fish.jpg`);
    expect(body.reused).toBe(false);
    expect(body.asset.sku).toBe('FISH-1');
    expect(body.asset.original).toMatchObject({ format: 'jpeg', width: 259, height: 194, bytes: fish.length, filename: 'fish.jpg' });
    expect(body.run.state).toBe('queued');
    const asset = (await (
      await fetch(`${service.url}/v1/assets/${body.asset.id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { runIds: string[] };
    expect(asset.runIds).toEqual([body.run.id]);
  });

  it('honours Idempotency-Key: a repeat gets the first answer and fetches nothing', async () => {
    const runsBefore = await countKeys(`${service.prefix}:run:*`);
    const first = await ingest({ url: `${base}/fish.jpg` }, { 'idempotency-key': 'from-url-1' });
    expect(first.status).toBe(202);
    const fetchesAfterFirst = requests.length;
    const again = await ingest({ url: `${base}/fish.jpg` }, { 'idempotency-key': 'from-url-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect(requests.length).toBe(fetchesAfterFirst);
    expect(await countKeys(`${service.prefix}:run:*`)).toBe(runsBefore + 1);
    const other = await ingest({ url: `${base}/coffee.png` }, { 'idempotency-key': 'from-url-1' });
    expect((await errorOf(other)).code).toBe('IDEMPOTENCY_MISMATCH');
  });

  it('refuses what an upload would refuse, storing nothing', async () => {
    const runsBefore = await countKeys(`${service.prefix}:run:*`);
    const cases: Array<[string, number, string]> = [
      ['/page.html', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['/truncated.jpg', 422, 'CORRUPT_IMAGE'],
      ['/coffee.png', 413, 'URL_TOO_LARGE'],
      ['/missing.jpg', 422, 'URL_FETCH_FAILED'],
    ];
    for (const [path, status, code] of cases) {
      const res = await ingest({ url: `${base}${path}` });
      expect(res.status, path).toBe(status);
      expect((await errorOf(res)).code, path).toBe(code);
    }
    const badRecipe = await ingest({ url: `${base}/fish.jpg`, recipe: { steps: [{ name: 'generate' }] } });
    expect(badRecipe.status).toBe(422);
    expect(await countKeys(`${service.prefix}:run:*`)).toBe(runsBefore);
  });

  it('refuses forbidden targets, directly and at a redirect, with the address class named', async () => {
    const direct: Array<[string, Record<string, unknown>]> = [
      [`http://[::ffff:127.0.0.1]:${port}/fish.jpg`, { addressClass: 'loopback', via: 'ipv4-mapped' }],
      [`http://0.0.0.0:${port}/fish.jpg`, { addressClass: 'unspecified' }],
      [`ftp://127.0.0.1:${port}/fish.jpg`, { scheme: 'ftp' }],
    ];
    for (const [url, details] of direct) {
      const res = await ingest({ url });
      expect(res.status, url).toBe(422);
      expect(await errorOf(res)).toMatchObject({ code: 'URL_FORBIDDEN', details });
    }
    requests.length = 0;
    const redirected = await ingest({ url: `${base}/to-mapped` });
    expect(redirected.status).toBe(422);
    const error = (await redirected.json()) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(error.error).toMatchObject({ code: 'URL_FORBIDDEN', details: { addressClass: 'loopback', via: 'ipv4-mapped' } });
    expect(error.error.message).toMatch(/^Redirect 1 refused/);
    expect(requests).toEqual(['/to-mapped']);
  });
});
