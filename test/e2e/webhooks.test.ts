import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { legacyVerifierFromDocs } from '../../workers/webhooks/testing/docs-verifier.js';
import { createTenant, fixture, REDIS_URL, startTestService, upload, waitForRun, type TestService } from '../harness.js';

/** A webhook receiver on 127.0.0.1: each path answers as scripted; every request is kept. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}
const received: Received[] = [];
const failuresLeft: Record<string, number> = { '/flaky': 3 };
let receiver: Server;
let receiverUrl = '';

/** Verified as a receiver using the Standard Webhooks library does: true, or the library's refusal. */
function verifiedByLibrary(secret: string, got: { headers: IncomingHttpHeaders; body: string }): true | string {
  try {
    new Webhook(secret).verify(got.body, Object.fromEntries(Object.entries(got.headers).map(([k, v]) => [k, String(v)])));
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}

const RENDER_64 = { steps: [{ name: 'render', options: { widths: [64], formats: ['jpeg'] } }] };

interface DeliveryBody {
  id: string;
  eventId: string;
  type: string;
  state: string;
  attempts: number;
  lastStatus?: number;
  deliveredAt?: string;
  replays: number;
  log: Array<{ attempt: number; status?: number; error?: { code: string } }>;
  payload: { id: string; type: string; data: Record<string, unknown> };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('webhooks out: subscribe, signed delivery, retries, log and replay', () => {
  let service: TestService;
  let tenant: { tenantId: string; key: string };
  let jpeg: Buffer;

  const api = (path: string, key: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${service.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${key}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const subscribe = async (key: string, path: string, events = ['run.completed', 'run.failed']) => {
    const res = await api('/v1/webhooks', key, { method: 'POST', body: { url: `${receiverUrl}${path}`, events } });
    expect(res.status).toBe(201);
    return (await res.json()) as { webhook: { id: string; url: string; events: string[] }; secret: string };
  };
  const deliveries = async (key: string, webhookId: string) =>
    ((await (await api(`/v1/webhooks/${webhookId}/deliveries`, key)).json()) as { deliveries: DeliveryBody[] }).deliveries;
  const completeARun = async (key: string) => {
    const res = await upload(service, key, jpeg, { filename: 'fish.jpg', recipe: RENDER_64 });
    expect(res.status).toBe(202);
    const { run } = (await res.json()) as { run: { id: string } };
    expect((await waitForRun(service, key, run.id)).state).toBe('completed');
    return run.id;
  };

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const path = req.url ?? '';
        const fail = (failuresLeft[path] ?? 0) > 0;
        if (fail) failuresLeft[path]!--;
        const answered = fail ? 500 : 200;
        received.push({ path, headers: req.headers, body, answered });
        res.writeHead(answered).end(fail ? 'not yet' : 'ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    service = await startTestService({
      // The receiver is on loopback: allowed for this test service only (no other address class is).
      URL_FETCH_ALLOW_LOOPBACK: 'true',
      WEBHOOK_BACKOFF_MS: '20',
      WEBHOOK_ATTEMPTS: '6',
      WEBHOOK_MAX_PER_TENANT: '3',
      WORKER_QUEUES: 'render,publish,batch',
      SANDBOXED_PROCESSORS: 'false',
    });
    tenant = await createTenant(service);
    jpeg = await readFile(fixture('HappyFish.jpg'));
  });
  afterAll(async () => {
    await service?.stop();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  // Literal addresses only: even a broken guard would make no DNS query and, with no event for
  // this tenant, no delivery. Names (metadata.google.internal…) are covered with an injected lookup.
  it('refuses non-public and non-http targets at subscribe time, and unknown events', async () => {
    const other = await createTenant(service, 'Refusals');
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['http://169.254.169.254/latest/meta-data/', 'URL_FORBIDDEN', { addressClass: 'metadata' }],
      ['http://[::ffff:10.0.0.1]/hook', 'URL_FORBIDDEN', { addressClass: 'private', via: 'ipv4-mapped' }],
      ['ftp://127.0.0.1/hook', 'URL_FORBIDDEN', { scheme: 'ftp' }],
    ];
    for (const [url, code, details] of cases) {
      const res = await api('/v1/webhooks', other.key, { method: 'POST', body: { url, events: ['run.completed'] } });
      expect(res.status, url).toBe(422);
      const body = (await res.json()) as { error: { code: string; details: Record<string, unknown> } };
      expect(body.error.code).toBe(code);
      expect(body.error.details).toMatchObject(details);
    }
    const badEvent = await api('/v1/webhooks', other.key, { method: 'POST', body: { url: `${receiverUrl}/ok`, events: ['run.exploded'] } });
    expect(badEvent.status).toBe(422);
    expect(((await (await api('/v1/webhooks', other.key)).json()) as { webhooks: unknown[] }).webhooks).toEqual([]);
  });

  it('delivers run.completed signed, verifiable by the receiver, and logs it', async () => {
    const { webhook, secret } = await subscribe(tenant.key, '/ok');
    expect(secret).toMatch(/^whsec_/);
    const listed = ((await (await api('/v1/webhooks', tenant.key)).json()) as { webhooks: Array<Record<string, unknown>> }).webhooks;
    expect(listed).toEqual([
      { id: webhook.id, url: `${receiverUrl}/ok`, events: ['run.completed', 'run.failed'], createdAt: expect.any(String) },
    ]);

    const runId = await completeARun(tenant.key);
    const got = await until('the delivery', async () => received.find((r) => r.path === '/ok'));
    const event = JSON.parse(got.body) as { id: string; type: string; data: { runId: string; state: string; manifestUrl?: string } };
    expect(event.type).toBe('run.completed');
    expect(event.data).toMatchObject({ runId, state: 'completed' });
    expect(event.data.manifestUrl).toMatch(/manifest\.json$/);
    expect(got.headers['webhook-id']).toBe(event.id);
    // Standard Webhooks first, then the legacy signature (WEBHOOK_LEGACY_SIGNATURE defaults on).
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1=[0-9a-f]{64}$/);
    expect(verifiedByLibrary(secret, got)).toBe(true);
    // What a receiver must refuse: another body, another secret, a stale timestamp.
    expect(verifiedByLibrary(secret, { ...got, body: got.body.replace('completed', 'failed') })).toMatch(/No matching signature/);
    expect(verifiedByLibrary(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, got)).toMatch(/No matching signature/);
    expect(
      verifiedByLibrary(secret, {
        ...got,
        headers: { ...got.headers, 'webhook-timestamp': String(Number(got.headers['webhook-timestamp']) - 3600) },
      }),
    ).toMatch(/too old/);
    // A receiver still on the legacy code docs/webhooks.md shows verifies the same delivery.
    const verifyLegacy = await legacyVerifierFromDocs();
    expect(verifyLegacy(secret, got.headers, got.body)).toBe(true);
    expect(verifyLegacy(secret, got.headers, got.body.replace('completed', 'failed'))).toBe(false);

    const [delivery] = await until('the log entry', async () => {
      const list = await deliveries(tenant.key, webhook.id);
      return list[0]?.state === 'delivered' ? list : undefined;
    });
    expect(delivery).toMatchObject({ eventId: event.id, type: 'run.completed', attempts: 1, lastStatus: 200, replays: 0 });
    expect(delivery!.log).toEqual([expect.objectContaining({ attempt: 1, status: 200 })]);
    expect(delivery!.payload).toEqual(event);
  });

  it('retries a receiver that fails three times, delivers exactly once, and replays on request', async () => {
    const flakyTenant = await createTenant(service, 'Flaky receiver');
    const { webhook, secret } = await subscribe(flakyTenant.key, '/flaky', ['run.completed']);
    await completeARun(flakyTenant.key);
    const [delivery] = await until('a delivered state', async () => {
      const list = await deliveries(flakyTenant.key, webhook.id);
      return list[0]?.state === 'delivered' ? list : undefined;
    });
    const tries = received.filter((r) => r.path === '/flaky');
    expect(tries.map((r) => r.answered)).toEqual([500, 500, 500, 200]);
    expect(tries.map((r) => r.headers['webhook-attempt'])).toEqual(['1', '2', '3', '4']);
    expect(new Set(tries.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivery!.eventId]));
    for (const t of tries) {
      expect(verifiedByLibrary(secret, t)).toBe(true);
    }
    expect(delivery).toMatchObject({ attempts: 4, lastStatus: 200, deliveredAt: expect.any(String) });
    expect(delivery!.log.map((l) => [l.attempt, l.status, l.error?.code])).toEqual([
      [1, 500, 'WEBHOOK_DELIVERY_FAILED'],
      [2, 500, 'WEBHOOK_DELIVERY_FAILED'],
      [3, 500, 'WEBHOOK_DELIVERY_FAILED'],
      [4, 200, undefined],
    ]);
    // The job is done for good: nothing will send this event again unless replayed.
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('publish', { connection, prefix: service.prefix });
    try {
      expect(await (await queue.getJob(delivery!.id))?.getState()).toBe('completed');
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect(received.filter((r) => r.path === '/flaky' && r.answered === 200)).toHaveLength(1);

    const replay = await api(`/v1/webhooks/deliveries/${delivery!.id}/replay`, flakyTenant.key, { method: 'POST' });
    expect(replay.status).toBe(202);
    const replayed = await until('the replay', async () => {
      const [d] = await deliveries(flakyTenant.key, webhook.id);
      return d && d.replays === 1 && d.state === 'delivered' ? d : undefined;
    });
    expect(replayed.attempts).toBe(5);
    const all = received.filter((r) => r.path === '/flaky');
    expect(all).toHaveLength(5);
    expect(all[4]!.headers['webhook-id']).toBe(delivery!.eventId);
    expect(all[4]!.body).toBe(all[3]!.body);

    // Another tenant sees none of it.
    const stranger = await createTenant(service, 'Stranger');
    expect((await api(`/v1/webhooks/${webhook.id}/deliveries`, stranger.key)).status).toBe(404);
    expect((await api(`/v1/webhooks/deliveries/${delivery!.id}/replay`, stranger.key, { method: 'POST' })).status).toBe(404);
  });

  it('sends batch.completed for a catalog batch, signed like every event', async () => {
    const shop = await createTenant(service, 'Catalog');
    const { webhook, secret } = await subscribe(shop.key, '/batches', ['batch.progress', 'batch.completed']);
    const res = await upload(service, shop.key, jpeg, { filename: 'fish.jpg', recipe: RENDER_64 });
    const { asset, run } = (await res.json()) as { asset: { id: string }; run: { id: string } };
    expect((await waitForRun(service, shop.key, run.id)).state).toBe('completed');
    const csv = `sku,source,options\nfish-32,${asset.id},"{""widths"":[32],""formats"":[""jpeg""]}"\n`;
    const submitted = await fetch(`${service.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shop.key}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(submitted.status).toBe(202);
    const { batch } = (await submitted.json()) as { batch: { id: string } };
    const done = await until(
      'batch.completed',
      async () => received.find((r) => r.path === '/batches' && (JSON.parse(r.body) as { type: string }).type === 'batch.completed'),
      120_000,
    );
    const event = JSON.parse(done.body) as {
      type: string;
      data: { batchId: string; state: string; counts: { total: number; completed: number } };
    };
    expect(event.data).toMatchObject({ batchId: batch.id, state: 'completed', counts: { total: 1, completed: 1 } });
    expect(verifiedByLibrary(secret, done)).toBe(true);
    expect(received.filter((r) => r.path === '/batches' && r.body === done.body)).toHaveLength(1);
    const log = await until('the logged delivery', async () => {
      const list = await deliveries(shop.key, webhook.id);
      return list.some((d) => d.type === 'batch.completed' && d.state === 'delivered') ? list : undefined;
    });
    expect(log.filter((d) => d.type === 'batch.completed')).toHaveLength(1);
  });

  it('deletes a webhook and caps how many a tenant may have', async () => {
    const capped = await createTenant(service, 'Capped');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await subscribe(capped.key, `/ok?n=${i}`, ['batch.completed'])).webhook.id);
    const fourth = await api('/v1/webhooks', capped.key, {
      method: 'POST',
      body: { url: `${receiverUrl}/ok`, events: ['batch.progress'] },
    });
    expect(fourth.status).toBe(422);
    expect(((await fourth.json()) as { error: { code: string; details: unknown } }).error).toMatchObject({
      code: 'TOO_MANY_WEBHOOKS',
      details: { maxPerTenant: 3 },
    });
    expect((await api(`/v1/webhooks/${ids[0]}`, capped.key, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/v1/webhooks/${ids[0]}`, capped.key, { method: 'DELETE' })).status).toBe(404);
    expect((await api(`/v1/webhooks/${ids[0]}/deliveries`, capped.key)).status).toBe(404);
    const left = ((await (await api('/v1/webhooks', capped.key)).json()) as { webhooks: Array<{ id: string }> }).webhooks.map((w) => w.id);
    expect(left.sort()).toEqual(ids.slice(1).sort());
  });
});
