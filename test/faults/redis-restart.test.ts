import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, upload, waitForRun } from '../harness.js';
import { startS3rver, type S3rverHandle } from '../s3rver.js';
import { checkBucketIsWhole } from './bucket-check.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startFaultService, type FaultService } from './fault-service.js';

const RUNS = 200;
const RECIPE = { steps: [{ name: 'render', options: { widths: [32, 64], formats: ['jpeg'] } }] };

/**
 * Redis killed (SIGKILL) and started again on the same port from its AOF (fsync always) while 200
 * runs are under way: half accepted, half still to upload. Every accepted run completes, no
 * rendition is written twice, and the service still shuts down gracefully afterwards.
 * The bucket sits behind a pass-through proxy only to count every PUT.
 */
describe('Redis restarted in the middle of 200 runs', () => {
  let s3: S3rverHandle;
  let bucket: string;
  let proxy: FaultProxy;
  let service: FaultService;
  let closed = false;

  beforeAll(async () => {
    s3 = await startS3rver();
    bucket = await s3.bucket();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
    service = await startFaultService({
      ...s3.serviceEnv(bucket, proxy.url),
      RENDER_CONCURRENCY: '2',
      RATE_LIMIT_PER_MINUTE: '100000',
      UPLOAD_RATE_LIMIT_PER_MINUTE: '100000',
    });
  });
  afterAll(async () => {
    if (!closed) await service?.stop();
    else await service?.redis.destroy();
    await proxy?.close();
    await s3?.stop();
  });

  it('completes every accepted run once, then shuts down gracefully', async () => {
    const testStarted = Date.now();
    const { key } = await createTenant(service);
    const images = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        sharp({ create: { width: 80, height: 60, channels: 3, background: { r: i, g: 255 - i, b: (i * 7) % 256 } } })
          .png()
          .toBuffer(),
      ),
    );

    const accepted: string[] = [];
    let refusedWhileDown = 0;
    let restart: Promise<number> | undefined;
    const restartRedis = async () => {
      const downAt = Date.now();
      await service.redis.stop('SIGKILL');
      await service.redis.start();
      return Date.now() - downAt;
    };
    // A client that retries a refused upload (503 while Redis is away) until it is accepted.
    const send = async (i: number) => {
      for (;;) {
        const res = await upload(service, key, images[i]!, { recipe: RECIPE });
        if (res.status === 202) {
          accepted.push(((await res.json()) as { run: { id: string } }).run.id);
          if (accepted.length === RUNS / 2) restart = restartRedis();
          return;
        }
        expect(res.status, await res.text()).toBe(503);
        refusedWhileDown++;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < RUNS) await send(next++);
      }),
    );
    const downMs = await restart!;
    const uploadsDoneAt = Date.now();

    const states = new Map<string, number>();
    for (const runId of accepted) {
      const run = await waitForRun(service, key, runId, 120_000);
      states.set(run.state, (states.get(run.state) ?? 0) + 1);
    }
    expect(Object.fromEntries(states)).toEqual({ completed: accepted.length });
    expect(accepted.length).toBeGreaterThanOrEqual(RUNS);
    const runsDoneMs = Date.now() - uploadsDoneAt;

    // Each rendition (and set marker) was written exactly once: no render ran twice.
    const puts = new Map<string, number>();
    for (const line of proxy.stats().requests)
      if (line.startsWith('PUT ') && line.includes('/r/')) puts.set(line, (puts.get(line) ?? 0) + 1);
    expect(puts.size).toBe(RUNS * 4); // two renditions, the lossless master and the set marker
    expect([...puts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // One manifest write per run.
    const manifests = proxy.stats().requests.filter((l) => l.startsWith('PUT ') && l.includes('/manifest.json')).length;
    expect(manifests).toBe(accepted.length);
    const written = [
      ...new Set(
        proxy
          .stats()
          .requests.filter((l) => l.startsWith('PUT '))
          .map((l) => decodeURIComponent(l.slice(4).split('?')[0]!).slice(bucket.length + 2)),
      ),
    ];
    const check = await checkBucketIsWhole(s3, bucket, { keys: written });
    expect(check.objects).toBe(RUNS * 10); // original, asset record, 2 renditions, master, set marker, 2 stable URLs, manifest, publication marker
    expect(check.problems).toEqual([]);

    const closeStarted = Date.now();
    await service.close();
    closed = true;
    console.info(
      `[faults] Redis SIGKILL+restart after ${RUNS / 2} of ${RUNS} uploads: down ${downMs} ms, ${refusedWhileDown} uploads answered 503 and retried, ` +
        `uploads took ${uploadsDoneAt - testStarted} ms, all ${accepted.length} runs completed ${runsDoneMs} ms after the last upload, every rendition written once; graceful close took ${Date.now() - closeStarted} ms`,
    );
  }, 300_000);
});
