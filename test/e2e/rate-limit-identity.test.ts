import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTenant, startTestService, type TestService } from '../harness.js';

type ErrorBody = { error: { code: string } };
const randomToken = () => `ipk_${randomBytes(24).toString('base64url')}`;

/** GET a route that needs a tenant, as a client behind a proxy would send it. */
const get = (service: { url: string }, headers: Record<string, string> = {}) => fetch(`${service.url}/v1/runs/run_none`, { headers });

describe('rate limits key on who a request really is', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ RATE_LIMIT_PER_MINUTE: '3', WORKER_QUEUES: 'publish' });
  });
  afterAll(async () => service?.stop());

  it('counts unknown keys against the client address: a new random token per request is still limited', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(service, { authorization: `Bearer ${randomToken()}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // No token at all counts against the same address.
    expect((await get(service)).status).toBe(429);
  });

  it("gives a key that exists a bucket of its own, not the address's (the admin key included)", async () => {
    // The address's bucket is spent (previous test): keys still get through.
    const created = await fetch(`${service.url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Keyed shop' }),
    });
    expect(created.status).toBe(201);
    const { apiKey } = (await created.json()) as { apiKey: { key: string } };
    expect((await get(service, { authorization: `Bearer ${apiKey.key}` })).status).toBe(404);
  });

  it('sends RateLimit-* and X-RateLimit-* headers, with the reset, on every limited answer and Retry-After on 429', async () => {
    const { key } = await createTenant(service, 'Header shop');
    const ok = await get(service, { authorization: `Bearer ${key}` });
    expect(ok.status).toBe(404);
    expect(ok.headers.get('ratelimit-limit')).toBe('3');
    expect(ok.headers.get('ratelimit-remaining')).toBe('2');
    expect(ok.headers.get('ratelimit-policy')).toBe('3;w=60');
    const reset = Number(ok.headers.get('ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(60);
    expect(ok.headers.get('x-ratelimit-limit')).toBe('3');
    expect(ok.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(ok.headers.get('x-ratelimit-reset')).toBe(String(reset));

    await get(service, { authorization: `Bearer ${key}` });
    await get(service, { authorization: `Bearer ${key}` });
    const refused = await get(service, { authorization: `Bearer ${key}` });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as ErrorBody).error.code).toBe('RATE_LIMITED');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBe(Number(refused.headers.get('ratelimit-reset')));
  });

  it('declares 429 with its headers in the API document', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>;
    };
    const limited = doc.paths['/v1/runs/{id}']!.get!.responses['429'];
    const names = Object.keys(limited?.headers ?? {}).map((h) => h.toLowerCase());
    expect(names).toEqual(
      expect.arrayContaining(['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-ratelimit-reset']),
    );
    expect(doc.paths['/healthz']?.get?.responses['429']).toBeUndefined();
  });
});

describe('TRUST_PROXY: the client address behind a load balancer', () => {
  let trusting: TestService;
  let direct: TestService;
  const from = (address: string) => ({ 'x-forwarded-for': address });

  beforeAll(async () => {
    [trusting, direct] = await Promise.all([
      startTestService({ RATE_LIMIT_PER_MINUTE: '2', WORKER_QUEUES: 'publish', TRUST_PROXY: 'loopback' }),
      startTestService({ RATE_LIMIT_PER_MINUTE: '2', WORKER_QUEUES: 'publish' }),
    ]);
  });
  afterAll(async () => Promise.all([trusting?.stop(), direct?.stop()]));

  it('with a trusted proxy, two forwarded clients get a bucket each', async () => {
    expect((await get(trusting, from('203.0.113.1'))).status).toBe(401);
    expect((await get(trusting, from('203.0.113.1'))).status).toBe(401);
    expect((await get(trusting, from('203.0.113.1'))).status).toBe(429);
    expect((await get(trusting, from('203.0.113.2'))).status).toBe(401);
  });

  it('without one (the default), X-Forwarded-For is ignored: it cannot buy a fresh bucket', async () => {
    expect((await get(direct, from('203.0.113.1'))).status).toBe(401);
    expect((await get(direct, from('203.0.113.1'))).status).toBe(401);
    expect((await get(direct, from('203.0.113.2'))).status).toBe(429);
  });
});
