import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTenant, fixture, startTestService, uncheckedFetch, upload, type TestService } from '../harness.js';
import { isCheckingAnswersFrom } from './checked-fetch.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  details?: Record<string, unknown>;
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** Errors as RFC 9457 problem details, the older `error` object beside them, and one status for schema failures. */
describe('problem details', () => {
  let service: TestService;
  let key: string;
  let assetId: string;
  const call = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}, bearer = key) =>
    fetch(`${service.url}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, ...init.headers } });
  const json = (method: string, path: string, body: string, bearer = key) =>
    call(path, { method, headers: { 'content-type': 'application/json' }, body }, bearer);
  const problem = async (res: Response) => ({ status: res.status, body: (await res.json()) as Problem });

  beforeAll(async () => {
    service = await startTestService();
    ({ key } = await createTenant(service));
    const res = await upload(service, key, await readFile(fixture('HappyFish.jpg')));
    assetId = ((await res.json()) as { asset: { id: string } }).asset.id;
  });
  afterAll(async () => service?.stop());

  it('runs with every answer checked against the document, as every harness service does', () => {
    expect(isCheckingAnswersFrom(service.url)).toBe(true);
    expect(globalThis.fetch).not.toBe(uncheckedFetch);
  });

  it('answers every error with the problem fields and the older error object, as JSON unless asked otherwise', async () => {
    const res = await call('/v1/assets/ast_missing');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as Problem;
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'Asset not found',
      instance: res.headers.get('x-request-id'),
      code: 'NOT_FOUND',
      error: { code: 'NOT_FOUND', message: 'Asset not found' },
    });
  });

  it('types the answer application/problem+json when Accept asks for it, from guards and the router too', async () => {
    const accept = { accept: 'application/problem+json, application/json;q=0.5' };
    for (const res of [
      await call('/v1/assets/ast_missing', { headers: accept }),
      await call('/v1/assets', { headers: accept }, 'not-a-key'),
      await call('/no/such/route', { headers: accept }),
    ]) {
      expect(res.headers.get('content-type'), res.url).toBe('application/problem+json; charset=utf-8');
      const body = (await res.json()) as Problem;
      expect(body.status).toBe(res.status);
      expect(body.code).toBe(body.error.code);
    }
    expect(
      (await call('/v1/assets/ast_missing', { headers: { accept: 'application/problem+json;q=0' } })).headers.get('content-type'),
    ).toMatch(/^application\/json/);
  });

  it('answers a schema failure with 422 on every route (body, query, recipe), and unreadable input with 400', async () => {
    const outcomes = [
      await problem(await json('POST', '/v1/webhooks', '{"url":5}')),
      await problem(await json('POST', '/v1/tenants', '{}', ADMIN_KEY)),
      await problem(await call('/v1/batches?limit=many')),
      await problem(await call(`/v1/assets/${assetId}/picture?loading=soon`)),
    ];
    for (const { status, body } of outcomes) {
      expect({ status, code: body.code }).toEqual({ status: 422, code: 'INVALID_REQUEST' });
      expect(body.details?.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String) })]));
    }
    const recipe = await problem(await json('POST', `/v1/assets/${assetId}/runs`, '{"steps":[{"name":"paint"}]}'));
    expect({ status: recipe.status, code: recipe.body.code }).toEqual({ status: 422, code: 'INVALID_RECIPE' });
    const malformed = await problem(await json('POST', '/v1/webhooks', '{"url":'));
    expect({ status: malformed.status, code: malformed.body.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('tells a client that wraps a run body in { "recipe": … } what to send instead', async () => {
    const { status, body } = await problem(await json('POST', `/v1/assets/${assetId}/runs`, '{"recipe":{"steps":[{"name":"render"}]}}'));
    expect({ status, code: body.code }).toEqual({ status: 422, code: 'INVALID_RECIPE' });
    expect(body.detail).toContain('not inside an object with a `recipe` field');
    expect((await json('POST', `/v1/assets/${assetId}/runs`, '{"steps":[{"name":"render"}]}')).status).toBe(202);
  });
});
