import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countKeys, createTenant, fixture, startTestService, type TestService } from '../harness.js';
import { multipartHead, parseRawAnswer, rawExchange, requestHead } from '../raw-http.js';

/**
 * Every request body has an idle limit and a total deadline (408 `UPLOAD_TIMEOUT`, connection
 * closed, nothing kept), and an `Idempotency-Key` never keeps a failure of the transport: the
 * retry the README prescribes goes through. Small limits so each case takes seconds.
 */
describe('slow and vanished clients', () => {
  let service: TestService;
  let key: string;
  let jpeg: Buffer;

  beforeAll(async () => {
    jpeg = await readFile(fixture('HappyFish.jpg'));
    service = await startTestService({ BODY_IDLE_TIMEOUT_MS: '1000', BODY_TIMEOUT_MS: '3000', WORKER_QUEUES: 'publish' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
  });

  const auth = () => ({ Authorization: `Bearer ${key}` });
  const expect408 = (answer: string) => {
    const { status, headers, body } = parseRawAnswer(answer);
    expect({ status, code: body?.error?.code }).toEqual({ status: 408, code: 'UPLOAD_TIMEOUT' });
    expect(headers).toContain('connection: close');
  };

  it('cuts off an upload that sends a byte at a time, each within the idle limit (total deadline)', async () => {
    const bytes = [...jpeg.subarray(0, 200)].map((b) => Buffer.from([b]));
    expect408(await rawExchange(service.url, [multipartHead('trickle', key, service.url, jpeg.length + 500), ...bytes], { paceMs: 300 }));
  });

  it('cuts off a catalog whose body stalls (POST /v1/batches)', async () => {
    const head = requestHead(service.url, 'POST', '/v1/batches', { ...auth(), 'Content-Type': 'text/csv' }, 1000);
    expect408(await rawExchange(service.url, [head, 'sku,source\n']));
  });

  it('cuts off a catalog that trickles its lines', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => `SKU-${i},https://example.com/${i}.jpg\n`);
    const head = requestHead(service.url, 'POST', '/v1/batches', { ...auth(), 'Content-Type': 'text/csv' }, 20_000);
    expect408(await rawExchange(service.url, [head, 'sku,source\n', ...lines], { paceMs: 300 }));
  });

  it('cuts off a JSON body that stalls (POST /v1/assets/from-url)', async () => {
    const head = requestHead(service.url, 'POST', '/v1/assets/from-url', { ...auth(), 'Content-Type': 'application/json' }, 200);
    expect408(await rawExchange(service.url, [head, '{"url":']));
  });

  it('cuts off a JSON body that trickles (total deadline)', async () => {
    const body = `{"url":"https://example.com/a.jpg","sku":"${'A'.repeat(40)}"}`;
    const head = requestHead(service.url, 'POST', '/v1/assets/from-url', { ...auth(), 'Content-Type': 'application/json' }, body.length);
    expect408(await rawExchange(service.url, [head, ...body.split('')], { paceMs: 300 }));
  });

  const form = (recipe?: string) => {
    const body = new FormData();
    if (recipe !== undefined) body.append('recipe', recipe);
    body.append('file', new Blob([jpeg]), 'fish.jpg');
    return body;
  };
  const keyedUpload = (idempotencyKey: string, recipe?: string) =>
    fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { ...auth(), 'idempotency-key': idempotencyKey }, body: form(recipe) });

  /** The retry after a transport failure: a 409 says the first is still winding down, so wait and send again. */
  async function retryUntilSettled(idempotencyKey: string): Promise<Response> {
    for (let i = 0; i < 60; i++) {
      const res = await keyedUpload(idempotencyKey);
      if (res.status !== 409) return res;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('the key stayed in progress');
  }

  it('does not keep a stalled upload (408) for its Idempotency-Key: the retry goes through', async () => {
    const idempotencyKey = randomUUID();
    const answer = await rawExchange(service.url, [
      multipartHead('stall', key, service.url, jpeg.length + 500, { 'Idempotency-Key': idempotencyKey }),
      jpeg.subarray(0, 1000),
    ]);
    expect(parseRawAnswer(answer).status).toBe(408);
    const retry = await retryUntilSettled(idempotencyKey);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.status).toBe(202);
    // And the success is what is kept now.
    const again = await keyedUpload(idempotencyKey);
    expect({ status: again.status, replayed: again.headers.get('idempotent-replayed') }).toEqual({ status: 202, replayed: 'true' });
  });

  it('does not keep an upload whose connection dropped mid-body for its Idempotency-Key', async () => {
    const idempotencyKey = randomUUID();
    const socket = connect(Number(new URL(service.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(multipartHead('gone', key, service.url, jpeg.length + 500, { 'Idempotency-Key': idempotencyKey }));
    socket.write(jpeg.subarray(0, jpeg.length / 2));
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
    const retry = await retryUntilSettled(idempotencyKey);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.status).toBe(202);
  });

  it('still keeps an answer that describes the request itself (a bad recipe) for its key', async () => {
    const idempotencyKey = randomUUID();
    const first = await keyedUpload(idempotencyKey, '{"steps":[{"name":"render","options":{"widths":[0]}}]}');
    expect(first.status).toBe(422);
    const again = await keyedUpload(idempotencyKey, '{"steps":[{"name":"render","options":{"widths":[0]}}]}');
    expect({ status: again.status, replayed: again.headers.get('idempotent-replayed') }).toEqual({ status: 422, replayed: 'true' });
  });

  it('kept nothing for the bodies it cut off: no batch, no run beyond the retried uploads', async () => {
    const res = await fetch(`${service.url}/v1/batches`, { headers: auth() });
    expect(((await res.json()) as { batches: unknown[] }).batches).toEqual([]);
    // Two uploads went through (the retries); the cut-off bodies made no run.
    expect(await countKeys(`${service.prefix}:run:*`)).toBe(2);
  });
});
