import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  countKeys,
  createTenant,
  deleteKeys,
  fixture,
  REDIS_URL,
  startTestService,
  upload,
  type TestService,
} from '../harness.js';

type ErrorBody = { error: { code: string; message: string } };
const get = (service: { url: string }, key: string, route = '/v1/runs/run_none') =>
  fetch(`${service.url}${route}`, { headers: { authorization: `Bearer ${key}` } });

describe('per-key rate limits, shared across API instances', () => {
  // Two API instances on one Redis prefix, as two replicas behind a load balancer would be.
  const prefix = `test-${randomUUID()}`;
  const env = { QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '4', UPLOAD_RATE_LIMIT_PER_MINUTE: '1', WORKER_QUEUES: 'publish' };
  let a: TestService;
  let b: TestService;
  let key: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestService(env), startTestService(env)]);
    ({ key } = await createTenant(a));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await deleteKeys(`${prefix}:*`);
  });

  it('answers 429 with Retry-After once the key has used its minute, whichever instance it asks', async () => {
    const statuses = [];
    for (const service of [a, b, a, b]) statuses.push((await get(service, key)).status);
    expect(statuses).toEqual([404, 404, 404, 404]);
    for (const service of [a, b]) {
      const res = await get(service, key);
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(((await res.json()) as ErrorBody).error.code).toBe('RATE_LIMITED');
    }
  });

  it('limits each key on its own, and never limits probes', async () => {
    const other = await createTenant(b, 'Other shop');
    expect((await get(b, other.key)).status).toBe(404);
    for (let i = 0; i < 8; i++) expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
  });

  it('gives uploads a bucket of their own', async () => {
    const { key: uploader } = await createTenant(a, 'Uploader');
    const jpeg = await readFile(fixture('HappyFish.jpg'));
    expect((await upload(a, uploader, jpeg, { type: 'image/jpeg' })).status).toBe(202);
    const second = await upload(b, uploader, jpeg, { type: 'image/jpeg' });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await get(a, uploader)).status).toBe(404); // the general bucket is untouched
  });
});

describe('backpressure: deep queues refuse new work with 503 before anything is stored', () => {
  let service: TestService;
  let key: string;

  beforeAll(async () => {
    // No render worker, so the jobs enqueued below stay waiting.
    service = await startTestService({ MAX_QUEUE_DEPTH: '1', WORKER_QUEUES: 'publish' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  it('refuses uploads and runs while the render queue is over MAX_QUEUE_DEPTH', async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const render = new Queue('render', { connection: redis, prefix: service.prefix });
    try {
      await render.add('filler', {});
      await render.add('filler', {});
      const refused = await upload(service, key, await readFile(fixture('HappyFish.jpg')), { type: 'image/jpeg' });
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('SERVICE_UNAVAILABLE');
      const run = await fetch(`${service.url}/v1/assets/ast_any/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ steps: [{ name: 'render' }] }),
      });
      expect(run.status).toBe(503);

      // Nothing of the refused upload was kept: no object, no run, no extra job.
      const objects = await readdir(path.join(service.dataDir, 'objects'), { recursive: true }).catch(() => []);
      expect(objects).toEqual([]);
      expect(await countKeys(`${service.prefix}:run:*`)).toBe(0);
      expect(await render.getJobCountByTypes('waiting', 'delayed', 'active')).toBe(2);
      // Reads still work.
      expect((await get(service, key)).status).toBe(404);
    } finally {
      await render.close();
      redis.disconnect();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; i < 50; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`redis-server did not start on port ${port}`);
}

describe('Redis outage: work-creating POSTs get a fast 503, never a hang', () => {
  let port: number;
  let redisChild: ChildProcess | undefined;
  let service: TestService;
  let key: string;

  beforeAll(async () => {
    port = await freePort();
    redisChild = await startRedis(port);
    // API only: this test is about the API, and workers reconnect on their own (slower) schedule.
    service = await startTestService({ REDIS_URL: `redis://127.0.0.1:${port}`, WORKER_QUEUES: '' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => {
    // Bring Redis back so the service can close cleanly, then stop both.
    if (redisChild?.exitCode !== null || redisChild?.signalCode) redisChild = await startRedis(port);
    await service?.stop();
    redisChild?.kill('SIGKILL');
  });

  it('answers 503 with Retry-After within seconds once Redis is gone', async () => {
    const exited = new Promise((resolve) => redisChild!.once('exit', resolve));
    redisChild!.kill('SIGKILL');
    await exited;
    const res = await upload(service, key, await readFile(fixture('HappyFish.jpg')), { type: 'image/jpeg' });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as ErrorBody).error.code).toBe('SERVICE_UNAVAILABLE');
    const tenant = await fetch(`${service.url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'idempotency-key': 'k1' },
      body: '{"name":"x"}',
    });
    expect(tenant.status).toBe(503);
  });
});
