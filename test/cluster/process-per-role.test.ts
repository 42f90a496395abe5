import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Env } from '../../lib/env.js';
import type { BatchSubmission } from '../../workers/batches/submit.js';
import { startFaultProxy, type FaultProxy } from '../faults/fault-proxy.js';
import { freePort } from '../faults/redis-server.js';
import { waitFor } from '../faults/wait.js';
import { killWithChildren, spawnApi, spawnWorker, type SpawnOptions, type WorkerProcess } from '../faults/worker-process.js';
import { ADMIN_KEY, createTenant, deleteKeys, keyedFetch, REDIS_URL, upload, waitForBatch, waitForRun } from '../harness.js';
import { startS3rver, type S3rverHandle } from '../s3rver.js';

/**
 * One process per role, each in a working folder of its own, as on separate hosts: nothing shared
 * but Redis and the bucket (s3rver, behind a proxy that records every request). A 200-item
 * catalog runs on two render workers (`render,batch`: a catalog item's steps run in the batch
 * lane); one is SIGKILLed midway and another starts. Every item is published once.
 */
const ITEMS = 200;
const PREFIX = `roles-${randomUUID()}`;

let s3: S3rverHandle;
let proxy: FaultProxy;
let bucket: string;
let env: Env;
let api: WorkerProcess & { url: string };
const processes: WorkerProcess[] = [];
const folders: string[] = [];
let redis: Redis;
let batchQueue: Queue;

/** A fresh working folder: the process's cwd and DATA_DIR, so nothing local is shared. */
async function host(): Promise<SpawnOptions & { env: Env }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'role-host-'));
  folders.push(dir);
  return { cwd: dir, env: { ...env, DATA_DIR: dir } };
}

async function worker(queues: string): Promise<WorkerProcess> {
  const h = await host();
  const p = spawnWorker(queues, h.env, h);
  processes.push(p);
  await p.ready;
  return p;
}

beforeAll(async () => {
  s3 = await startS3rver();
  bucket = await s3.bucket();
  const target = new URL(s3.endpoint);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  env = {
    ...process.env,
    ...s3.serviceEnv(bucket, proxy.url),
    STORAGE_DRIVER: 's3',
    REDIS_URL,
    QUEUE_PREFIX: PREFIX,
    ADMIN_API_KEY: ADMIN_KEY,
    MODELS_WARM: '',
    BATCH_CONCURRENCY: '2',
    BATCH_CPU_NICE: '0',
    // A killed worker's items go back to the queue within seconds (60 s + 30 s by default).
    WORKER_LOCK_DURATION_MS: '4000',
    WORKER_STALLED_INTERVAL_MS: '1000',
  };
  const h = await host();
  api = spawnApi({ ...h.env, PORT: String(await freePort()) }, h);
  processes.push(api);
  await api.ready;
  await Promise.all([worker('inference'), worker('render,batch'), worker('render,batch'), worker('publish')]);
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  batchQueue = new Queue('batch', { connection: redis, prefix: PREFIX });
}, 180_000);

afterAll(async () => {
  try {
    for (const p of processes) killWithChildren(p);
    await Promise.all(processes.map((p) => p.exited));
    await batchQueue?.close();
    redis?.disconnect();
    await deleteKeys(`${PREFIX}:*`);
  } finally {
    await proxy?.close();
    await s3?.stop();
    await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
  }
});

describe('one process per role, on separate working folders', () => {
  it(`publishes every item of a ${ITEMS}-item catalog once, though a render worker is SIGKILLed midway`, async () => {
    // Each process's own log, for a failure's story (warnings and errors only: the rest is routine).
    onTestFailed(() => {
      for (const p of processes)
        console.error(
          `--- pid ${p.pid}\n${p
            .output()
            .split('\n')
            .filter((l) => /"level":[4-6]0/.test(l))
            .slice(-20)
            .join('\n')}`,
        );
    });
    const { key, tenantId } = await createTenant(api, 'Roles shop');
    const call = keyedFetch(
      () => api,
      () => key,
    );
    // The upload path too: a run through the render and publish workers' queues.
    const photo = await sharp({ create: { width: 64, height: 16, channels: 3, background: '#2a6f97' } })
      .png()
      .toBuffer();
    const uploaded = await upload(api, key, photo, {
      filename: 'photo.png',
      recipe: { steps: [{ name: 'render', options: { widths: [32], formats: ['jpeg'] } }] },
    });
    expect(uploaded.status).toBe(202);
    const { run } = (await uploaded.json()) as { run: { id: string } };
    expect((await waitForRun(api, key, run.id, 120_000)).state).toBe('completed');

    // A catalog of distinct products: one small image each in the tenant's inbox (written past the
    // proxy, so its record holds only what the service did).
    const bucketClient = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      for (let i = 0; i < ITEMS; i++) {
        const image = await sharp({ create: { width: 64, height: 16, channels: 3, background: { r: i, g: 255 - i, b: (i * 7) % 256 } } })
          .png()
          .toBuffer();
        await bucketClient.send(
          new PutObjectCommand({ Bucket: bucket, Key: `t/${tenantId}/inbox/catalog/p${i}.png`, Body: image, ContentType: 'image/png' }),
        );
      }
    } finally {
      bucketClient.destroy();
    }
    const lines = ['sku,source,options'];
    for (let i = 0; i < ITEMS; i++) lines.push(`sku-${i},inbox/catalog/p${i}.png,"{""widths"":[32],""formats"":[""jpeg""]}"`);
    const res = await call('/v1/batches', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `${lines.join('\n')}\n` });
    expect(res.status).toBe(202);
    const submitted = (await res.json()) as BatchSubmission;
    expect(submitted.accepted).toBe(ITEMS);
    const batchId = submitted.batch.id;

    // Midway, while it holds items: SIGKILL the first render worker, then start another.
    const victim = processes[2]!;
    const held = await waitFor(
      'a third of the catalog done and items held by the first render worker',
      async () => {
        const status = (await (await call(`/v1/batches/${batchId}`)).json()) as { counts: { completed: number } };
        if (status.counts.completed < ITEMS / 3) return undefined;
        const active = await batchQueue.getJobs(['active']);
        const mine = active.filter((j) => j.processedBy?.endsWith(`:${victim.pid}`)).map((j) => (j.data as { line: number }).line);
        return mine.length ? { lines: mine, completed: status.counts.completed } : undefined;
      },
      300_000,
      20,
    );
    killWithChildren(victim);
    await victim.exited;
    await worker('render,batch');

    const done = await waitForBatch(api, key, batchId, 400_000);
    expect(done.counts, JSON.stringify(done.failures.slice(0, 3))).toEqual({
      total: ITEMS,
      waiting: 0,
      active: 0,
      completed: ITEMS,
      failed: 0,
      cancelled: 0,
    });
    expect(done.failures).toEqual([]);

    const results = (await (await call(`/v1/batches/${batchId}/results`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { sku: string; state: string; runId: string; assetId: string });
    expect(results).toHaveLength(ITEMS);
    expect(new Set(results.map((r) => r.runId)).size).toBe(ITEMS);
    expect(new Set(results.map((r) => r.assetId)).size).toBe(ITEMS);
    expect(results.every((r) => r.state === 'completed')).toBe(true);

    // Published once: each SKU's stable URL written exactly once, except the items the killed
    // worker held, which the next worker publishes again (same run, same bytes: idempotent).
    const puts = new Map<string, number>();
    for (const r of proxy.stats().requests) {
      const m = /^PUT \/[^/]+\/t\/[^/]+\/sku\/(sku-\d+)\/\d+\.jpg(?:\?| |$)/.exec(r);
      if (m) puts.set(m[1]!, (puts.get(m[1]!) ?? 0) + 1);
    }
    const heldSkus = new Set(held.lines.map((line) => `sku-${line - 2}`));
    const again: string[] = [];
    for (let i = 0; i < ITEMS; i++) {
      const sku = `sku-${i}`;
      if (heldSkus.has(sku)) expect(puts.get(sku) ?? 0, sku).toBeGreaterThanOrEqual(1);
      else expect(puts.get(sku) ?? 0, sku).toBe(1);
      if ((puts.get(sku) ?? 0) > 1) again.push(sku);
    }
    expect(again.every((sku) => heldSkus.has(sku))).toBe(true);
    console.info(
      `[roles] ${ITEMS} items on 6 processes; render worker ${victim.pid} SIGKILLed at ${held.completed}/${ITEMS} holding lines ${held.lines.join(',')}; SKUs written twice: ${again.length ? again.join(',') : 'none'}`,
    );
  }, 600_000);
});
