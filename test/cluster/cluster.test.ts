import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from '../../bin/service.js';
import { fsStorage } from '../../cdn/fs-storage.js';
import type { Env } from '../../lib/env.js';
import { createRedis, scanKeys, type RedisConnection } from '../../lib/redis.js';
import type { BatchEventSink } from '../../workers/batches/events.js';
import type { BatchSubmission } from '../../workers/batches/submit.js';
import { createTenant, keyedFetch, upload, waitForBatch, waitForRun, type RunBody, localServiceEnv } from '../harness.js';
import { startOwnCluster, type OwnCluster } from './redis-cluster.js';

/**
 * The whole service (API, every worker kind, the catalog lane) on a real Redis Cluster: three
 * masters with a replica each, from Debian's redis-server, on loopback ports. QUEUE_PREFIX is
 * hash-tagged, so every key of the deployment shares one slot and each MULTI, Lua script and
 * BullMQ flow works; a master killed mid-batch is replaced by its replica and the batch still
 * finishes every item exactly once.
 */
const PREFIX = `{cluster-${randomUUID()}}`;
const FIRST_WIDTH = 16;

let cluster: OwnCluster;
let service: Service & { url: string };
let dataDir: string;
let redis: RedisConnection;
let batchQueue: Queue;
/** batch id → how many times the batch said it completed. */
const completions = new Map<string, number>();
const events: BatchEventSink = {
  batchProgress: () => undefined,
  batchCompleted: (e) => void completions.set(e.batchId, (completions.get(e.batchId) ?? 0) + 1),
};
let key: string;
let tenantId: string;
let assetId: string;
const api = keyedFetch(
  () => service,
  () => key,
);

beforeAll(async () => {
  cluster = await startOwnCluster();
  dataDir = await mkdtemp(path.join(tmpdir(), 'cluster-service-'));
  const env: Env = {
    ...localServiceEnv(dataDir),
    REDIS_CLUSTER_NODES: cluster.nodes.join(','),
    QUEUE_PREFIX: PREFIX,
    BATCH_CONCURRENCY: '4',
    BATCH_CPU_NICE: '0',
    RENDER_CONCURRENCY: '2',
    // A job whose worker lost Redis mid-failover is handed back soon rather than after 60 s.
    WORKER_LOCK_DURATION_MS: '10000',
    WORKER_STALLED_INTERVAL_MS: '2000',
  };
  const started = await startService({ env, batchEvents: events });
  service = { ...started, url: started.url! };
  redis = createRedis({ url: 'redis://127.0.0.1', clusterNodes: cluster.nodes }, 'cluster-test');
  batchQueue = new Queue('batch', { connection: redis, prefix: PREFIX });
  ({ key, tenantId } = await createTenant(service, 'Cluster shop'));
  const wide = await sharp({ create: { width: 400, height: 24, channels: 3, background: '#2a6f97' } })
    .png()
    .toBuffer();
  const res = await upload(service, key, wide, {
    filename: 'wide.png',
    recipe: { steps: [{ name: 'render', options: { widths: [400], formats: ['jpeg'] } }] },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
  assetId = body.asset.id;
  expect((await waitForRun(service, key, body.run.id)).state).toBe('completed');
}, 180_000);

afterAll(async () => {
  try {
    await batchQueue?.close();
    // Known issue (RELIABILITY.md): after a failover a worker's graceful close can wait forever on
    // BullMQ's blocking connection; bounded here so the cluster is always taken down.
    const closed =
      !service ||
      (await Promise.race([service.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000).unref())]));
    if (!closed)
      console.warn(
        '[cluster] service.close() still waiting after 30 s (a worker blocked after the failover); the cluster is stopped anyway',
      );
    redis?.disconnect();
  } finally {
    await cluster?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

/** A CSV catalog of `items` lines, each rendering its own width (so each item is its own work). */
function catalog(items: number, from: number): string {
  const lines = ['sku,source,options'];
  for (let i = 0; i < items; i++)
    lines.push(`sku-${from + i},${assetId},"{""widths"":[${FIRST_WIDTH + from + i}],""formats"":[""jpeg""]}"`);
  return `${lines.join('\n')}\n`;
}

async function submit(csv: string): Promise<{ status: number; body: BatchSubmission }> {
  const res = await api('/v1/batches', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  return { status: res.status, body: (await res.json()) as BatchSubmission };
}

/**
 * Every item completed once: one completed run each, one rendition set each, the batch's counts
 * exact, one completion event, and a resubmission finds every item done (nothing runs again).
 */
async function expectExactlyOnce(batchId: string, csv: string, items: number, from: number): Promise<void> {
  const results = (await (await api(`/v1/batches/${batchId}/results`)).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(results).toHaveLength(items);
  expect(new Set(results.map((r) => r.runId)).size).toBe(items);
  results.forEach((r, i) => expect(r).toMatchObject({ sku: `sku-${from + i}`, state: 'completed', assetId }));
  for (const r of results) {
    const run = (await (await api(`/v1/runs/${String(r.runId)}`)).json()) as RunBody;
    expect(run.state).toBe('completed');
    expect(run.steps.map((s) => s.state)).toEqual(['completed', 'completed']);
  }
  const storage = fsStorage({ root: path.join(dataDir, 'objects') });
  const widths: number[] = [];
  for await (const k of storage.list(`t/${tenantId}/r/`)) if (k.endsWith('.jpg')) widths.push(Number.parseInt(k.split('/').pop()!, 10));
  const mine = widths.filter((w) => w >= FIRST_WIDTH + from && w < FIRST_WIDTH + from + items).sort((a, b) => a - b);
  expect(mine).toEqual(Array.from({ length: items }, (_, i) => FIRST_WIDTH + from + i));
  expect(completions.get(batchId)).toBe(1);
  const again = await submit(csv);
  expect(again.body).toMatchObject({ accepted: 0, rejected: 0, duplicates: { completed: items, inProgress: 0 } });
  expect(await batchQueue.getJobCounts('waiting', 'prioritized', 'active', 'delayed')).toEqual({
    waiting: 0,
    prioritized: 0,
    active: 0,
    delayed: 0,
  });
}

describe('on a Redis Cluster (3 masters + 3 replicas)', () => {
  it('keeps every key of the deployment in the one slot of its hash-tagged prefix', async () => {
    const keys = await scanKeys(redis, `${PREFIX}:*`);
    // Queues, run records, tenants and API keys, rate-limit counters are all there by now.
    for (const part of [':publish:', ':render:', ':run:', ':tenant:', ':apikey:', ':ratelimit:']) {
      expect(
        keys.some((k) => k.includes(part)),
        `a key with ${part}`,
      ).toBe(true);
    }
    const home = await cluster.masterOf(PREFIX);
    const cluster6 = redis as Extract<RedisConnection, { nodes: unknown }>;
    for (const node of cluster6.nodes('master')) {
      const here = await scanKeys(node, `${PREFIX}:*`);
      // Keys come and go meanwhile (job keys, rate-limit windows): only where they live is exact.
      if (`127.0.0.1:${node.options.port}` === home) expect(here.length, `keys on ${home}`).toBeGreaterThan(0);
      else expect(here, `keys on ${node.options.port}`).toEqual([]);
    }
  });

  it('runs a catalog batch exactly once, and replays an Idempotency-Key', async () => {
    const csv = catalog(30, 0);
    const first = await submit(csv);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ accepted: 30, rejected: 0 });
    const done = await waitForBatch(service, key, first.body.batch.id, 300_000);
    expect(done.counts).toEqual({ total: 30, waiting: 0, active: 0, completed: 30, failed: 0, cancelled: 0 });
    await expectExactlyOnce(first.body.batch.id, csv, 30, 0);

    const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } })
      .png()
      .toBuffer();
    const keyed = () => {
      const form = new FormData();
      form.append('file', new Blob([tiny], { type: 'image/png' }), 'tiny.png');
      return api('/v1/assets', { method: 'POST', headers: { 'idempotency-key': 'cluster-upload' }, body: form });
    };
    const once = await keyed();
    expect(once.status).toBe(202);
    const replay = await keyed();
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(await once.json());
  }, 360_000);

  it('finishes a batch exactly once while the master of its slot is killed and its replica promoted', async () => {
    const items = 60;
    const csv = catalog(items, 100);
    const submitted = await submit(csv);
    expect(submitted.body).toMatchObject({ accepted: items, rejected: 0 });
    const batchId = submitted.body.batch.id;
    // Midway: some items done, most still to do.
    const deadline = Date.now() + 300_000;
    for (;;) {
      const status = (await (await api(`/v1/batches/${batchId}`)).json()) as { counts: { completed: number } };
      if (status.counts.completed >= 5) break;
      if (Date.now() > deadline) throw new Error('the batch made no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    const master = await cluster.masterOf(PREFIX);
    const { promoted } = await cluster.killMasterAndFailOver(master);
    expect(await cluster.masterOf(PREFIX)).toBe(promoted);
    const mid = (await (await api(`/v1/batches/${batchId}`)).json()) as { counts: { completed: number } };
    expect(mid.counts.completed, 'the kill must land before the batch ends').toBeLessThan(items);

    const done = await waitForBatch(service, key, batchId, 400_000);
    expect(done.counts).toEqual({ total: items, waiting: 0, active: 0, completed: items, failed: 0, cancelled: 0 });
    expect(done.failures).toEqual([]);
    await expectExactlyOnce(batchId, csv, items, 100);
    console.info(
      `[cluster] master ${master} killed with ${mid.counts.completed}/${items} items done; replica ${promoted} took over; batch completed once`,
    );
  }, 600_000);
});
