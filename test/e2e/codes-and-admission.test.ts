import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, keyedFetch, startTestService, upload, type TestService } from '../harness.js';
import { parseRawAnswer, rawExchange } from '../raw-http.js';

type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };

/**
 * Documented limits and codes hold on every entry point: the same fault gets the same status and
 * code from an upload, a URL ingest, a run on an asset and a catalog line, and every error the
 * framework raises (long path ids, bad URLs, malformed HTTP, media types) comes in our shape.
 */
describe('documented codes, one admission path', () => {
  let service: TestService;
  let key: string;
  let origin: Server;
  let base = '';
  let fish: Buffer;
  let assetId: string;

  beforeAll(async () => {
    fish = await readFile(fixture('HappyFish.jpg'));
    origin = createServer((req, res) => {
      const routes: Record<string, () => void> = {
        '/fish.jpg': () => res.writeHead(200).end(fish),
        '/empty.jpg': () => res.writeHead(200).end(),
        '/loop': () => res.writeHead(302, { location: '/loop' }).end(),
      };
      (routes[req.url ?? ''] ?? (() => res.writeHead(404).end()))();
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
    service = await startTestService({ URL_FETCH_ALLOW_LOOPBACK: 'true', WORKER_QUEUES: 'publish' });
    ({ key } = await createTenant(service));
    const first = await upload(service, key, fish, { filename: 'fish.jpg' });
    expect(first.status).toBe(202);
    assetId = ((await first.json()) as { asset: { id: string } }).asset.id;
  });
  afterAll(async () => {
    await service?.stop();
    origin?.closeAllConnections();
    await new Promise((resolve) => origin?.close(resolve));
  });

  const api = keyedFetch(
    () => service,
    () => key,
  );
  const json = (path: string, body: unknown) =>
    api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const outcome = async (res: Response) => {
    const body = (await res.json()) as ErrorBody;
    return { status: res.status, code: body.error?.code };
  };
  const uploadWith = (recipe: string) => {
    const form = new FormData();
    form.append('recipe', recipe);
    form.append('file', new Blob([fish]), 'fish.jpg');
    return api('/v1/assets', { method: 'POST', body: form });
  };
  const catalogLine = async (recipe: unknown) => {
    const res = await api('/v1/batches', {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ sku: 'SKU-1', source: assetId, recipe })}\n`,
    });
    const body = (await res.json()) as { rejected: number; batch: { failures: Array<{ code: string }> } };
    return { status: 422, code: body.batch.failures[0]?.code };
  };

  /**
   * One recipe fault through every entry point: the same status and code from each. A catalog line
   * is judged at submission for its shape; its template is resolved when the item runs (with the
   * same resolver), which this service, running no catalog lane, never does.
   */
  async function sameEverywhere(recipe: unknown, atSubmission = true) {
    return {
      upload: await outcome(await uploadWith(JSON.stringify(recipe))),
      fromUrl: await outcome(await json('/v1/assets/from-url', { url: `${base}/fish.jpg`, recipe })),
      run: await outcome(await json(`/v1/assets/${assetId}/runs`, recipe)),
      ...(atSubmission ? { catalog: await catalogLine(recipe) } : {}),
    };
  }

  it.each([
    ['an unknown step', { steps: [{ name: 'sharpen' }, { name: 'render' }] }, 'INVALID_RECIPE'],
    ['steps that are not a list', { steps: 'render' }, 'INVALID_RECIPE'],
    ['an unknown key beside steps', { steps: [{ name: 'render' }], extra: 1 }, 'INVALID_RECIPE'],
    ['render not last', { steps: [{ name: 'render' }, { name: 'upscale' }] }, 'INVALID_RECIPE'],
  ])('refuses %s with the same status and code on every entry point', async (_name, recipe, code) => {
    const expected = { status: 422, code };
    expect(await sameEverywhere(recipe)).toEqual({ upload: expected, fromUrl: expected, run: expected, catalog: expected });
  });

  it('refuses an unknown template with the same status and code from an upload, a URL and a run', async () => {
    const expected = { status: 422, code: 'UNKNOWN_TEMPLATE' };
    const recipe = { steps: [{ name: 'generate', options: { template: 'no-such-template' } }, { name: 'render' }] };
    expect(await sameEverywhere(recipe, false)).toEqual({ upload: expected, fromUrl: expected, run: expected });
  });

  it('accepts remove-background → generate(marketplace-white) → render from a URL, as from an upload (was 500 INTERNAL)', async () => {
    const recipe = {
      steps: [{ name: 'remove-background' }, { name: 'generate', options: { template: 'marketplace-white' } }, { name: 'render' }],
    };
    const fromUrl = await json('/v1/assets/from-url', { url: `${base}/fish.jpg`, recipe });
    expect(fromUrl.status).toBe(202);
    expect((await uploadWith(JSON.stringify(recipe))).status).toBe(202);
  });

  it('answers EMPTY_UPLOAD with 400 from an upload and from a URL', async () => {
    const form = new FormData();
    form.append('file', new Blob([]), 'empty.jpg');
    expect(await outcome(await api('/v1/assets', { method: 'POST', body: form }))).toEqual({ status: 400, code: 'EMPTY_UPLOAD' });
    expect(await outcome(await json('/v1/assets/from-url', { url: `${base}/empty.jpg` }))).toEqual({ status: 400, code: 'EMPTY_UPLOAD' });
  });

  it('refuses a multipart field over 64 KiB with 400 instead of cutting it short (a padded recipe ran)', async () => {
    const padded = JSON.stringify({ steps: [{ name: 'render' }] }) + ' '.repeat(100_000);
    const res = await uploadWith(padded);
    const body = (await res.json()) as ErrorBody;
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(body.error.details).toMatchObject({ maxFieldBytes: 65536 });
  });

  it.each([
    ['no part at all', 'just some bytes, no boundary anywhere'],
    ['a part never closed', '--b0und\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nabc'],
    ['a part without headers', '--b0und\r\n\r\nabc\r\n--b0und--\r\n'],
  ])('refuses malformed multipart (%s) with 400 BAD_REQUEST, not EMPTY_UPLOAD', async (_name, body) => {
    const res = await api('/v1/assets', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b0und' }, body });
    expect(await outcome(res)).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('refuses a redirect loop on URL ingest with 422, not the retryable 502', async () => {
    const res = await json('/v1/assets/from-url', { url: `${base}/loop` });
    expect(await outcome(res)).toEqual({ status: 422, code: 'URL_FETCH_FAILED' });
  });

  it.each([
    ['/v1/assets/from-url', JSON.stringify({ url: 'http://example.com/a.jpg' })],
    [`/v1/assets/{asset}/runs`, JSON.stringify({ steps: [{ name: 'render' }] })],
  ])('refuses a text/plain body on %s with 415', async (path, body) => {
    const res = await api(path.replace('{asset}', assetId), { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    expect(await outcome(res)).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it.each([
    ['a catalog (text/csv) on /v1/assets/from-url', '/v1/assets/from-url', 'text/csv', 'url\nhttp://example.com/a.jpg\n'],
    [
      'a form on /v1/assets/from-url',
      '/v1/assets/from-url',
      'multipart/form-data; boundary=b0und',
      '--b0und\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttp://example.com/a.jpg\r\n--b0und--\r\n',
    ],
    ['JSON on /v1/assets (an upload)', '/v1/assets', 'application/json', '{"file":"x"}'],
    ['JSON on /v1/batches', '/v1/batches', 'application/json', '{"sku":"A"}'],
  ])('refuses %s with 415: each route takes only its own media types', async (_name, path, type, body) => {
    const res = await api(path, { method: 'POST', headers: { 'content-type': type }, body });
    expect(await outcome(res)).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('answers a path id over 100 characters with 414 in our error shape', async () => {
    const res = await api(`/v1/assets/${'a'.repeat(101)}`);
    const body = (await res.json()) as ErrorBody;
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 414, code: 'URI_TOO_LONG' });
    // Problem details (RFC 9457) and the older error object, nothing of the framework's own shape.
    expect(Object.keys(body)).toEqual(['type', 'title', 'status', 'detail', 'instance', 'code', 'details', 'error']);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers a badly encoded path with 400 in our error shape', async () => {
    const res = await api('/v1/assets/%E0%A4%A');
    expect(await outcome(res)).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('answers a malformed HTTP request with 400 in our error shape', async () => {
    const answer = parseRawAnswer(await rawExchange(service.url, ['GET /v1/assets HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']));
    expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('answers invalid JSON with 400 in our error shape', async () => {
    const res = await api('/v1/assets/from-url', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url":' });
    expect(await outcome(res)).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });
});
