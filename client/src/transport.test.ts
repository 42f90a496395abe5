import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from './errors.js';
import { createTransport, retryAfterMs } from './transport.js';

/** A loopback server answering from a script, one entry per request; every request is kept. */
let server: Server;
let baseUrl = '';
let script: Array<{ status: number; headers?: Record<string, string>; body?: string }> = [];
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const next = script.shift() ?? { status: 200, body: '{}' };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers }).end(next.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const waits: number[] = [];
const transport = (attempts = 4) =>
  createTransport({
    baseUrl,
    apiKey: 'k1',
    retry: { attempts, baseDelayMs: 100 },
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
const reset = (next: typeof script) => {
  script = next;
  seen.length = 0;
  waits.length = 0;
};

describe('the client transport', () => {
  it('sends the key, and one Idempotency-Key per POST that stays the same across retries', async () => {
    reset([
      { status: 503, headers: { 'retry-after': '2' } },
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 202, body: '{"ok":true}' },
    ]);
    const res = await transport().send('/v1/things', {
      method: 'POST',
      body: () => '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(await res.json()).toEqual({ ok: true });
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer k1', 'Bearer k1', 'Bearer k1']);
    const keys = new Set(seen.map((s) => s.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.map((s) => s.body)).toEqual(['{"a":1}', '{"a":1}', '{"a":1}']);
    // Retry-After in seconds, plus at most 10 % jitter.
    expect(waits[0]).toBeGreaterThanOrEqual(2000);
    expect(waits[0]).toBeLessThanOrEqual(2200);
    expect(waits[1]).toBeGreaterThanOrEqual(1000);
    expect(waits[1]).toBeLessThanOrEqual(1100);
  });

  it("keeps a caller's Idempotency-Key and adds none to a GET", async () => {
    reset([{ status: 200 }, { status: 200 }]);
    await transport().send('/a', { method: 'POST', headers: { 'idempotency-key': 'mine' } });
    await transport().send('/b');
    expect(seen[0]!.headers['idempotency-key']).toBe('mine');
    expect(seen[1]!.headers['idempotency-key']).toBeUndefined();
  });

  it("gives up after the bounded number of tries with the server's error code", async () => {
    const busy = { status: 429, body: '{"error":{"code":"RATE_LIMITED","message":"slow down"}}', headers: { 'x-request-id': 'req-1' } };
    reset([busy, busy, busy, busy]);
    const err = (await transport(3)
      .send('/x')
      .catch((e: unknown) => e)) as PipelineError;
    expect(err).toBeInstanceOf(PipelineError);
    expect([err.status, err.code, err.message, err.requestId]).toEqual([429, 'RATE_LIMITED', 'slow down', 'req-1']);
    expect(seen).toHaveLength(3);
    // No Retry-After: exponential backoff with full jitter (100 ms, then 200 ms at most).
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(waits[1]).toBeLessThanOrEqual(200);
  });

  it('never retries a one-shot body, nor a 4xx that is not "later"', async () => {
    reset([{ status: 503 }, { status: 400, body: '{"error":{"code":"BAD_REQUEST","message":"no"}}' }]);
    expect(
      (
        (await transport()
          .send('/once', { method: 'POST', once: true })
          .catch((e: unknown) => e)) as PipelineError
      ).status,
    ).toBe(503);
    expect(
      (
        (await transport()
          .send('/bad')
          .catch((e: unknown) => e)) as PipelineError
      ).code,
    ).toBe('BAD_REQUEST');
    expect(seen).toHaveLength(2);
  });

  it('reads a problem details body, and the older error object', async () => {
    reset([
      {
        status: 422,
        body: '{"type":"about:blank","title":"Unprocessable Content","status":422,"detail":"Bad sku","code":"INVALID_REQUEST","details":{"issues":[]}}',
      },
      { status: 404, body: '{"error":{"code":"NOT_FOUND","message":"Run not found","details":{"id":"r"}}}' },
      { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>bad gateway</html>' },
    ]);
    const problem = (await transport()
      .send('/a')
      .catch((e: unknown) => e)) as PipelineError;
    expect([problem.code, problem.message, problem.details]).toEqual(['INVALID_REQUEST', 'Bad sku', { issues: [] }]);
    const older = (await transport()
      .send('/b')
      .catch((e: unknown) => e)) as PipelineError;
    expect([older.code, older.message, older.details]).toEqual(['NOT_FOUND', 'Run not found', { id: 'r' }]);
    const html = (await transport()
      .send('/c')
      .catch((e: unknown) => e)) as PipelineError;
    expect([html.status, html.code]).toEqual([502, 'HTTP_502']);
  });

  it('says which server it could not reach', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const closed = createTransport({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k' });
    const err = (await closed.send('/v1/runs/x').catch((e: unknown) => e)) as PipelineError;
    expect([err.status, err.code]).toEqual([0, 'NETWORK_ERROR']);
    expect(err.message).toMatch(new RegExp(`^Could not reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
