import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from '../../bin/service.js';
import type { Env } from '../../lib/env.js';
import type { BatchCompletedEvent, BatchEventSink, BatchProgressEvent } from '../../workers/batches/events.js';
import { ADMIN_KEY, createTenant, deleteKeys, keyedFetch, REDIS_URL, upload, waitForRun } from '../harness.js';
import { checkAnswersFrom } from '../contract/checked-fetch.js';

/**
 * Pause, resume and cancel act on queued work. The API process runs no batch worker, so queued
 * items stay put until the test starts one: every assertion is about state, none about timing.
 */
const MAX_ITEMS = 25;

interface Status {
  id: string;
  state: string;
  counts: Record<string, number>;
  etaSeconds: number | null;
  duplicates: number;
}

const events = { progress: [] as BatchProgressEvent[], completed: [] as BatchCompletedEvent[] };
const recorder: BatchEventSink = {
  batchProgress: (e) => void events.progress.push(e),
  batchCompleted: (e) => void events.completed.push(e),
};

let env: Env;
let dataDir: string;
let apiService: Service;
let batchWorker: Service | undefined;
let url: string;
let key: string;
let assetId: string;
let redis: Redis;
let queue: Queue;

const api = keyedFetch(
  () => ({ url }),
  () => key,
);
const status = async (id: string) => (await (await api(`/v1/batches/${id}`)).json()) as Status;
const act = async (id: string, action: string) => {
  const res = await api(`/v1/batches/${id}/${action}`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Status & { error?: { code: string } } };
};
const catalog = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({ sku: `${prefix}-${i}`, source: assetId, options: { widths: [16 + i], formats: ['jpeg'] } }),
  ).join('\n');
async function submit(body: string) {
  const res = await api('/v1/batches', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
  return { status: res.status, body: (await res.json()) as { batch: Status; accepted: number; error?: { code: string } } };
}
const queued = async () => (await queue.getJobCounts('waiting', 'prioritized', 'delayed')) as Record<string, number>;
const queuedTotal = async () => Object.values(await queued()).reduce((a, b) => a + b, 0);

async function waitFor(id: string, state: string, timeoutMs = 60_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(id);
    if (s.state === state) return s;
    if (Date.now() > deadline) throw new Error(`batch ${id} is ${s.state}, not ${state}: ${JSON.stringify(s.counts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const prefix = `test-${randomUUID()}`;
  dataDir = await mkdtemp(path.join(tmpdir(), 'pipeline-test-'));
  env = {
    ...process.env,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
    JOB_ATTEMPTS: '2',
    MODELS_WARM: '',
    MAX_BATCH_ITEMS: String(MAX_ITEMS),
    BATCH_PROGRESS_INTERVAL_MS: '1',
  };
  apiService = await startService({ env, workerQueues: ['render', 'publish'], batchEvents: recorder });
  url = apiService.url!;
  // Started without the harness (its own batch recorder): its answers are checked against the document all the same.
  checkAnswersFrom(url);
  ({ key } = await createTenant({ url }));
  redis = new Redis(REDIS_URL);
  queue = new Queue('batch', { connection: redis, prefix });
  const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#aa3355' } })
    .png()
    .toBuffer();
  const res = (await (await upload({ url }, key, image, { filename: 'a.png' })).json()) as { asset: { id: string }; run: { id: string } };
  assetId = res.asset.id;
  await waitForRun({ url }, key, res.run.id);
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await batchWorker?.close();
  await apiService?.close();
  await deleteKeys(`${env.QUEUE_PREFIX}:*`);
  await rm(dataDir, { recursive: true, force: true });
});

describe('batch pause, resume and cancel', () => {
  it('refuses a catalog over MAX_BATCH_ITEMS whole, leaving nothing behind', async () => {
    const res = await submit(catalog('big', MAX_ITEMS + 1));
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('BATCH_TOO_LARGE');
    expect(await queuedTotal()).toBe(0);
    expect(((await (await api('/v1/batches')).json()) as { batches: unknown[] }).batches).toEqual([]);
  });

  it('pauses (queued jobs leave the queue), cancels (counted, and redone on resubmission) and resumes', async () => {
    const a = await submit(catalog('a', 20));
    const b = await submit(catalog('b', 10));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(await queuedTotal()).toBe(30);

    const paused = await act(a.body.batch.id, 'pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ state: 'paused', etaSeconds: null, counts: { waiting: 20 } });
    expect(await queuedTotal()).toBe(10); // only B's items are still queued
    expect((await act(a.body.batch.id, 'pause')).body.error?.code).toBe('BATCH_STATE_CONFLICT');

    const cancelled = await act(b.body.batch.id, 'cancel');
    expect(cancelled.body).toMatchObject({ state: 'cancelled', counts: { total: 10, waiting: 0, cancelled: 10 } });
    expect(await queuedTotal()).toBe(0);
    expect(events.completed).toEqual([expect.objectContaining({ batchId: b.body.batch.id, state: 'cancelled' })]);
    expect((await act(b.body.batch.id, 'resume')).status).toBe(409);

    // A worker for the catalog lane starts: nothing is queued, so nothing runs until resumed.
    batchWorker = await startService({ env, api: false, workerQueues: ['batch'], batchEvents: recorder });
    expect((await status(a.body.batch.id)).counts).toMatchObject({ waiting: 20, completed: 0 });

    const resumed = await act(a.body.batch.id, 'resume');
    expect(resumed.body.state).toBe('running');
    const done = await waitFor(a.body.batch.id, 'completed');
    expect(done.counts).toEqual({ total: 20, waiting: 0, active: 0, completed: 20, failed: 0, cancelled: 0 });

    // Cancelled work is not done work: the same catalog runs again.
    const again = await submit(catalog('b', 10));
    expect(again.body.accepted).toBe(10);
    expect((await waitFor(again.body.batch.id, 'completed')).counts.completed).toBe(10);
    // And work done is not redone: that batch has nothing to run and completes at once.
    const known = await submit(catalog('a', 20));
    expect(known.body).toMatchObject({ accepted: 0, batch: { state: 'completed', duplicates: 20 } });

    const completedIds = events.completed.map((e) => `${e.batchId}:${e.state}`);
    expect(completedIds.sort()).toEqual(
      [
        `${a.body.batch.id}:completed`,
        `${b.body.batch.id}:cancelled`,
        `${again.body.batch.id}:completed`,
        `${known.body.batch.id}:completed`,
      ].sort(),
    );
    expect(events.progress.some((e) => e.batchId === a.body.batch.id && e.state === 'paused')).toBe(true);
    expect(events.progress.some((e) => e.batchId === a.body.batch.id && e.state === 'running' && e.counts.completed > 0)).toBe(true);
  });
});
