import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../client/src/webhooks.js';
import { createLogger } from '../../lib/logger.js';
import { loopbackOnlyNetwork } from '../../lib/testing/loopback-network.js';
import { deleteKeys, REDIS_URL } from '../../test/harness.js';
import { processDelivery, type DeliveryDeps } from './deliver.js';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, standardSecret } from './signature.js';
import { deliveryIdFor, WebhookStore } from './store.js';
import { legacyVerifierFromDocs, type LegacyVerifier } from './testing/docs-verifier.js';
import type { DeliveryRecord } from './types.js';

/**
 * One delivery try against a local receiver, the URL guard in the path. Names resolve from a
 * table and only loopback is ever dialled, so a broken guard fails here instead of reaching out.
 */
describe('processDelivery', () => {
  const prefix = `test-${randomUUID()}`;
  let redis: Redis;
  let store: WebhookStore;
  let receiver: Server;
  let port = 0;
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const table: Record<string, string> = { 'hooks.example.com': '127.0.0.1' };
  const net = loopbackOnlyNetwork(table);
  let deps: DeliveryDeps;
  let verifyLegacy: LegacyVerifier;

  beforeAll(async () => {
    verifyLegacy = await legacyVerifierFromDocs();
    redis = new Redis(REDIS_URL);
    store = new WebhookStore(redis, prefix);
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.writeHead(req.url === '/gone' ? 410 : 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as { port: number }).port;
    deps = {
      store,
      config: { attempts: 3, backoffMs: 10, timeoutMs: 5000, maxPerTenant: 5, legacySignature: true },
      guard: { lookup: net.lookup, connect: net.connect, allowLoopbackForTests: (host) => host === 'hooks.example.com' },
      logger: createLogger('silent'),
    };
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    redis.disconnect();
    await deleteKeys(`${prefix}:*`);
  });

  async function pending(path: string, secret = newWebhookSecret()): Promise<{ id: string; secret: string; subId: string }> {
    const sub = await store.create({ tenantId: 'tn_1', url: `http://hooks.example.com:${port}${path}`, events: ['run.completed'], secret });
    const eventId = `evt_${randomUUID().replaceAll('-', '')}`;
    const now = new Date().toISOString();
    const record: DeliveryRecord = {
      id: deliveryIdFor(sub.id, eventId),
      subscriptionId: sub.id,
      tenantId: 'tn_1',
      eventId,
      type: 'run.completed',
      body: JSON.stringify({ id: eventId, type: 'run.completed', data: { runId: 'run_1' } }),
      state: 'pending',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      replays: 0,
      log: [],
    };
    await store.createDelivery(record);
    return { id: record.id, secret: sub.secret, subId: sub.id };
  }

  const headersOf = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));

  it('signs per Standard Webhooks (the library verifies), with the legacy signature beside it, then refuses to send a delivered event again', async () => {
    const { id, secret } = await pending('/ok');
    expect(await processDelivery(deps, id, { last: false })).toEqual({ state: 'delivered', status: 204 });
    const last = got.at(-1)!;
    expect(last.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1=[0-9a-f]{64}$/);
    const record = await store.getDelivery(id);
    expect(last.headers['webhook-id']).toBe(record!.eventId);
    // The library itself, given the secret exactly as the tenant got it.
    expect(new Webhook(secret).verify(last.body, headersOf(last.headers))).toEqual(JSON.parse(last.body));
    expect(() => new Webhook(secret).verify(last.body.replace('run_1', 'run_2'), headersOf(last.headers))).toThrow(/No matching signature/);
    // The id is signed: the same body and timestamp under another id does not verify.
    expect(() => new Webhook(secret).verify(last.body, { ...headersOf(last.headers), 'webhook-id': 'evt_other' })).toThrow(
      /No matching signature/,
    );
    expect(() => new Webhook(newWebhookSecret()).verify(last.body, headersOf(last.headers))).toThrow(/No matching signature/);
    // The verifier the typed client ships reads the same signatures.
    expect(verifyWebhook(secret, last.headers, last.body)).toBe(true);
    expect(
      verifyWebhook(secret, { ...last.headers, 'webhook-signature': String(last.headers['webhook-signature']).split(' ')[0] }, last.body),
    ).toBe(true);
    // An older receiver, running the code docs/webhooks.md shows, verifies the same delivery.
    expect(verifyLegacy(secret, last.headers, last.body)).toBe(true);
    expect(verifyLegacy(secret, last.headers, last.body.replace('run_1', 'run_2'))).toBe(false);
    expect(verifyLegacy(secret, last.headers, last.body, Number(last.headers['webhook-timestamp']) + 3600)).toBe(false);
    const sent = got.length;
    expect(await processDelivery(deps, id, { last: false })).toEqual({ state: 'skipped', reason: 'already delivered' });
    expect(got.length).toBe(sent);
  });

  it('signs with a secret issued as base64url before the transition: the library verifies it re-encoded as the docs say', async () => {
    // 32 bytes whose base64url has both characters standard base64 lacks, as older secrets could.
    const old = `whsec_${Buffer.alloc(32, Buffer.from([0xfb, 0xff, 0xbe])).toString('base64url')}`;
    expect(old.slice(6)).toMatch(/-.*_|_.*-/);
    expect(() => new Webhook(old)).toThrow();
    const { id } = await pending('/ok', old);
    await processDelivery(deps, id, { last: false });
    const last = got.at(-1)!;
    const reEncoded = `whsec_${Buffer.from(old.slice(6), 'base64url').toString('base64')}`; // the docs' one-liner
    expect(reEncoded).toBe(standardSecret(old));
    expect(new Webhook(reEncoded).verify(last.body, headersOf(last.headers))).toEqual(JSON.parse(last.body));
    expect(verifyLegacy(old, last.headers, last.body)).toBe(true);
    expect(
      verifyWebhook(old, { ...last.headers, 'webhook-signature': String(last.headers['webhook-signature']).split(' ')[0] }, last.body),
    ).toBe(true);
  });

  it('sends the standard signature alone once WEBHOOK_LEGACY_SIGNATURE is off: the library verifies, the legacy code no longer does', async () => {
    const { id, secret } = await pending('/ok');
    await processDelivery({ ...deps, config: { ...deps.config, legacySignature: false } }, id, { last: false });
    const last = got.at(-1)!;
    expect(last.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(last.body, headersOf(last.headers))).toEqual(JSON.parse(last.body));
    expect(verifyLegacy(secret, last.headers, last.body)).toBe(false);
  });

  it('checks the target again at delivery: a name that now resolves to a private address fails for good, unsent', async () => {
    const { id } = await pending('/ok');
    const sent = got.length;
    const dialled = net.dialled.length;
    table['hooks.example.com'] = '10.20.30.40';
    try {
      const err = await processDelivery(deps, id, { last: false }).catch((e: unknown) => e);
      // A refused address is not retried.
      expect(err).toBeInstanceOf(UnrecoverableError);
      expect((err as Error).message).toMatch(/^URL_FORBIDDEN: .*private-network address/);
    } finally {
      table['hooks.example.com'] = '127.0.0.1';
    }
    expect(got.length).toBe(sent);
    expect(net.dialled.length).toBe(dialled);
    expect(await store.getDelivery(id)).toMatchObject({ state: 'failed', attempts: 1, lastError: { code: 'URL_FORBIDDEN' } });
  });

  it('logs a non-2xx answer as retrying, and failed on the last try', async () => {
    const { id } = await pending('/gone');
    await expect(processDelivery(deps, id, { last: false })).rejects.toThrow(/^WEBHOOK_DELIVERY_FAILED: The receiver answered 410/);
    expect(await store.getDelivery(id)).toMatchObject({ state: 'retrying', attempts: 1, lastStatus: 410 });
    await expect(processDelivery(deps, id, { last: true })).rejects.toThrow();
    const record = await store.getDelivery(id);
    expect(record).toMatchObject({ state: 'failed', attempts: 2 });
    expect(record!.log.map((l) => [l.attempt, l.status, l.error?.code])).toEqual([
      [1, 410, 'WEBHOOK_DELIVERY_FAILED'],
      [2, 410, 'WEBHOOK_DELIVERY_FAILED'],
    ]);
  });

  it('cancels a delivery whose subscription was deleted, sending nothing', async () => {
    const { id, subId } = await pending('/ok');
    await store.delete('tn_1', subId);
    const sent = got.length;
    expect(await processDelivery(deps, id, { last: false })).toEqual({ state: 'skipped', reason: 'subscription deleted' });
    expect(got.length).toBe(sent);
    expect((await store.getDelivery(id))?.state).toBe('cancelled');
  });
});
