import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, upload, waitForRun } from '../harness.js';
import { startFaultService, type FaultService } from './fault-service.js';
import { isAlive, waitFor } from './wait.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

/**
 * Stalled-job recovery with workers as separate OS processes: a render worker killed with SIGKILL
 * mid-job loses its lock; after WORKER_LOCK_DURATION_MS (2 s here, 60 s by default) the next stall
 * check (WORKER_STALLED_INTERVAL_MS, 500 ms here) hands the job to another worker, which renders
 * it once, with the same bytes an undisturbed run makes.
 */
describe('a render worker killed with SIGKILL mid-job', () => {
  let service: FaultService;
  const workers: WorkerProcess[] = [];
  const RECIPE = { steps: [{ name: 'render', options: { widths: [300, 600, 900, 1200], formats: ['avif', 'webp', 'jpeg'] } }] };

  beforeAll(async () => {
    // API and the publish worker here; render workers are their own processes, started below.
    service = await startFaultService({ WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '500' }, ['publish']);
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await service?.stop();
  });

  it('is finished once by another worker, with the bytes of an undisturbed run', async () => {
    // Smooth noise: slow enough to encode (seconds of AVIF) that the kill lands mid-job.
    const noise = await sharp({
      create: { width: 1200, height: 1200, channels: 3, background: '#888', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
    })
      .blur(1.2)
      .png()
      .toBuffer();
    const shopA = await createTenant(service, 'Killed');
    const shopB = await createTenant(service, 'Undisturbed');

    const connection = new Redis(service.redis.url, { maxRetriesPerRequest: null });
    const render = new Queue('render', { connection, prefix: service.env.QUEUE_PREFIX });
    const events = new QueueEvents('render', { connection: { url: service.redis.url } as never, prefix: service.env.QUEUE_PREFIX });
    const completions = new Map<string, number>();
    events.on('completed', ({ jobId }) => completions.set(jobId, (completions.get(jobId) ?? 0) + 1));
    await events.waitUntilReady();
    try {
      const first = spawnWorker('render', service.env);
      workers.push(first);
      await first.ready;
      const accepted = await upload(service, shopA.key, noise, { recipe: RECIPE });
      expect(accepted.status).toBe(202);
      const { run } = (await accepted.json()) as { run: { id: string } };
      const jobId = `${run.id}-0`;

      // Active on the first worker, and past decoding (progress 15): encoding is under way.
      await waitFor(
        'the render to be encoding on the first worker',
        async () => {
          const job = await render.getJob(jobId);
          return (await job?.getState()) === 'active' && typeof job?.progress === 'number' && job.progress >= 15;
        },
        30_000,
        20,
      );
      const sandboxChildren = execFileSync('ps', ['-o', 'pid=', '--ppid', String(first.pid)])
        .toString()
        .trim()
        .split(/\s+/)
        .map(Number);
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAt = Date.now();
      expect(await render.getJobState(jobId), 'the job must still be unfinished when its worker dies').toBe('active');
      // The orphaned sandbox child notices its parent is gone and exits instead of rendering for nobody.
      await waitFor('the orphaned sandbox child to exit', () => sandboxChildren.every((pid) => !isAlive(pid)), 10_000);

      const second = spawnWorker('render', service.env);
      workers.push(second);
      await second.ready;
      const restartedAt = Date.now();
      await waitFor(
        'the job to be taken by the second worker',
        async () => (await render.getJob(jobId))?.processedBy?.endsWith(`:${second.pid}`),
        30_000,
        20,
      );
      const takenOverMs = Date.now() - restartedAt;
      const done = await waitForRun(service, shopA.key, run.id, 60_000);
      const recoveredMs = Date.now() - killedAt;
      expect(done.state).toBe('completed');
      const job = (await render.getJob(jobId))!;
      expect(job.processedBy).toContain(`:${second.pid}`);
      expect(job.stalledCounter).toBe(1);
      expect(job.attemptsMade).toBe(1); // completed on its first counted attempt: a stall is not a failure
      await waitFor('the completion event', () => completions.get(jobId) === 1);

      // The same input, undisturbed, for another tenant (renditions are per tenant, so it renders again).
      const again = await upload(service, shopB.key, noise, { recipe: RECIPE });
      const { run: runB } = (await again.json()) as { run: { id: string } };
      expect((await waitForRun(service, shopB.key, runB.id, 60_000)).state).toBe('completed');
      const killed = await renditionsOf(service.dataDir, shopA.tenantId, done.assetId);
      const undisturbed = await renditionsOf(service.dataDir, shopB.tenantId, await runAsset(service.url, shopB.key, runB.id));
      expect(killed.length).toBe(12);
      expect(killed).toEqual(undisturbed);
      expect([...completions.values()].every((n) => n === 1)).toBe(true);
      console.info(
        `[faults] worker SIGKILL: second worker took the job ${takenOverMs} ms after it was ready; run completed ${recoveredMs} ms after the kill (lock 2000 ms, stall check 500 ms, worker start included)`,
      );
    } finally {
      await events.close();
      await render.close();
      connection.disconnect();
    }
  }, 150_000);
});

async function runAsset(url: string, key: string, runId: string): Promise<string> {
  const res = await fetch(`${url}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${key}` } });
  return ((await res.json()) as { assetId: string }).assetId;
}

/** Each rendition of an asset's manifest as `<width>.<format> <sha256>`, tenant-independent. */
async function renditionsOf(dataDir: string, tenantId: string, assetId: string): Promise<string[]> {
  const objects = path.join(dataDir, 'objects');
  const manifest = JSON.parse(await readFile(path.join(objects, 't', tenantId, 'assets', assetId, 'manifest.json'), 'utf8')) as {
    renditions: Array<{ key: string }>;
  };
  const out = await Promise.all(
    manifest.renditions.map(async ({ key }) => {
      const bytes = await readFile(path.join(objects, key));
      return `${key.split('/r/')[1]} ${createHash('sha256').update(bytes).digest('hex')}`;
    }),
  );
  return out.sort();
}
