import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { deleteKeys, REDIS_URL } from '../../test/harness.js';
import { webhookBatchSink } from './batch-sink.js';
import { createEventPublisher, DELIVER_JOB, type EventPublisher } from './publisher.js';
import { WebhookStore } from './store.js';

/** The publisher against real Redis and a real BullMQ queue (no worker: jobs stay waiting). */
describe('webhook event publisher', () => {
  const prefix = `test-${randomUUID()}`;
  let redis: Redis;
  let queue: Queue;
  let store: WebhookStore;
  let publisher: EventPublisher;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue('publish', { connection: redis, prefix });
    store = new WebhookStore(redis, prefix);
    publisher = createEventPublisher({
      store,
      queue,
      config: { attempts: 15, backoffMs: 5000, timeoutMs: 1000, maxPerTenant: 20, legacySignature: true },
      logger: createLogger('silent'),
    });
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await deleteKeys(`${prefix}:*`);
  });

  const subscribe = (tenantId: string, events: Parameters<WebhookStore['create']>[0]['events']) =>
    store.create({ tenantId, url: 'https://hooks.example.com/x', events, secret: 'whsec_test' });
  const jobs = async () => (await queue.getJobs(['waiting', 'delayed'])).filter((j) => j.name === DELIVER_JOB);

  it('creates one delivery and one job per subscriber of the type, and none for others', async () => {
    const a = await subscribe('tn_a', ['run.completed']);
    const b = await subscribe('tn_a', ['run.completed', 'run.failed']);
    await subscribe('tn_a', ['batch.completed']);
    await subscribe('tn_other', ['run.completed']);
    const before = (await jobs()).length;
    const eventId = await publisher.publish('tn_a', 'run.completed', { runId: 'run_1' }, 'run_1');
    expect((await jobs()).length).toBe(before + 2);
    for (const sub of [a, b]) {
      const [delivery] = await store.deliveriesOf(sub.id);
      expect(delivery).toMatchObject({ eventId, type: 'run.completed', state: 'pending', attempts: 0 });
      expect(JSON.parse(delivery!.body)).toMatchObject({ id: eventId, type: 'run.completed', data: { runId: 'run_1' } });
    }
    const deliveryOfA = (await store.deliveriesOf(a.id))[0]!.id;
    const job = (await jobs()).find((j) => (j.data as { deliveryId: string }).deliveryId === deliveryOfA);
    // About a day of retries: 15 tries, exponential from 5 s.
    expect(job?.opts).toMatchObject({ attempts: 15, backoff: { type: 'exponential', delay: 5000 } });
  });

  it('delivers the same happening once: a repeated event key adds no delivery and no job', async () => {
    const sub = await subscribe('tn_b', ['run.failed']);
    const first = await publisher.publish('tn_b', 'run.failed', { runId: 'run_2', n: 1 }, 'run_2');
    const count = (await jobs()).length;
    const second = await publisher.publish('tn_b', 'run.failed', { runId: 'run_2', n: 2 }, 'run_2');
    expect(second).toBe(first);
    expect((await jobs()).length).toBe(count);
    const deliveries = await store.deliveriesOf(sub.id);
    expect(deliveries).toHaveLength(1);
    expect(JSON.parse(deliveries[0]!.body).data.n).toBe(1);
    // Another run is another event.
    expect(await publisher.publish('tn_b', 'run.failed', { runId: 'run_3' }, 'run_3')).not.toBe(first);
    expect(await store.deliveriesOf(sub.id)).toHaveLength(2);
  });

  it('turns batch events into batch.progress and batch.completed, one event per distinct figure', async () => {
    const sub = await subscribe('tn_c', ['batch.progress', 'batch.completed']);
    const sink = webhookBatchSink(publisher);
    const counts = { total: 3, waiting: 1, active: 1, completed: 1, failed: 0, cancelled: 0 };
    await sink.batchProgress({ batchId: 'bat_1', tenantId: 'tn_c', state: 'running', counts, at: '2026-01-01T00:00:00Z' });
    // The same figure from another worker process is the same news.
    await sink.batchProgress({
      batchId: 'bat_1',
      tenantId: 'tn_c',
      state: 'running',
      counts: { ...counts, active: 0, waiting: 2 },
      at: '2026-01-01T00:00:01Z',
    });
    await sink.batchProgress({
      batchId: 'bat_1',
      tenantId: 'tn_c',
      state: 'running',
      counts: { ...counts, completed: 2, waiting: 0 },
      at: '2026-01-01T00:00:02Z',
    });
    await sink.batchCompleted({
      batchId: 'bat_1',
      tenantId: 'tn_c',
      state: 'completed',
      counts: { ...counts, completed: 3, waiting: 0, active: 0 },
      at: '2026-01-01T00:00:03Z',
    });
    await sink.batchCompleted({
      batchId: 'bat_1',
      tenantId: 'tn_c',
      state: 'completed',
      counts: { ...counts, completed: 3, waiting: 0, active: 0 },
      at: '2026-01-01T00:00:04Z',
    });
    const types = (await store.deliveriesOf(sub.id)).map((d) => d.type).reverse();
    expect(types).toEqual(['batch.progress', 'batch.progress', 'batch.completed']);
  });

  it('replays a delivery under the same event id with a job of its own', async () => {
    const sub = await subscribe('tn_d', ['run.completed']);
    await publisher.publish('tn_d', 'run.completed', { runId: 'run_9' }, 'run_9');
    const [delivery] = await store.deliveriesOf(sub.id);
    await store.updateDelivery(delivery!.id, { state: 'delivered' });
    await publisher.replay(delivery!.id);
    const after = await store.getDelivery(delivery!.id);
    expect(after).toMatchObject({ state: 'pending', replays: 1, eventId: delivery!.eventId, body: delivery!.body });
    expect((await jobs()).map((j) => j.id)).toContain(`${delivery!.id}-replay-1`);
  });
});
