import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, upload, waitForRun, type RunBody } from '../harness.js';
import { startS3rver, type S3rverHandle } from '../s3rver.js';
import { checkBucketIsWhole } from './bucket-check.js';
import { startFaultProxy, type FaultMode, type FaultProxy } from './fault-proxy.js';
import { startFaultService, type FaultService } from './fault-service.js';
import { waitFor } from './wait.js';

/**
 * The bucket failing under a run that was already accepted: 500s, connections reset mid-request
 * (truncated PUT bodies) and a bucket that accepts and never answers. The S3 client retries
 * inside each call (S3_MAX_ATTEMPTS, with backoff), the job retries after that (JOB_ATTEMPTS), and
 * the run completes once the bucket recovers. Nothing partial is ever left readable.
 */
describe('a flaky bucket', () => {
  let s3: S3rverHandle;
  let bucket: string;
  let proxy: FaultProxy;
  let service: FaultService;
  let key: string;
  let seed = 0;

  beforeAll(async () => {
    s3 = await startS3rver();
    bucket = await s3.bucket();
    const { port } = new URL(s3.endpoint);
    proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(port) });
    service = await startFaultService({
      ...s3.serviceEnv(bucket, proxy.url),
      // A stalled request is abandoned after 1 s instead of 60 s; the SDK tries 3 times per call.
      S3_IDLE_TIMEOUT_MS: '1000',
      S3_CONNECT_TIMEOUT_MS: '1000',
      S3_MAX_ATTEMPTS: '3',
      // Job retries after 1, 2, 4, 8… s (with jitter) cover an outage of tens of seconds.
      JOB_ATTEMPTS: '6',
    });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await s3?.stop();
  });

  /** Upload a fresh image with the bucket healthy, break the bucket, and return the accepted run. */
  async function acceptedRunThenBreak(mode: FaultMode): Promise<{ runId: string; startedAt: number }> {
    const image = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 40 + seed++ * 30, g: 120, b: 200 } } })
      .jpeg()
      .toBuffer();
    proxy.setMode({ kind: 'pass' });
    const res = await upload(service, key, image, {
      recipe: { steps: [{ name: 'render', options: { widths: [100, 200, 400], formats: ['webp', 'jpeg'] } }] },
    });
    expect(res.status).toBe(202);
    proxy.setMode(mode);
    return { runId: ((await res.json()) as { run: { id: string } }).run.id, startedAt: Date.now() };
  }

  const attemptsOf = (run: RunBody) =>
    (run.steps as Array<{ name: string; attempts?: number }>).map((s) => `${s.name}:${s.attempts ?? 0}`).join(' ');

  it('retries through 500s and completes', async () => {
    const before = proxy.stats();
    const { runId, startedAt } = await acceptedRunThenBreak({ kind: 'status', status: 500, count: 6 });
    const run = await waitForRun(service, key, runId, 90_000);
    expect(run.state).toBe('completed');
    const seen = proxy.stats();
    // All six 500s were served to this run's requests, and each was retried.
    expect(seen.answered - before.answered).toBe(6);
    console.info(`[faults] bucket 500 x6: run completed in ${Date.now() - startedAt} ms; steps ${attemptsOf(run)}`);
  }, 120_000);

  it('retries through refused connections and completes', async () => {
    const before = proxy.stats();
    const { runId, startedAt } = await acceptedRunThenBreak({ kind: 'refuse' });
    await waitFor('four refused connections', () => proxy.stats().refused - before.refused >= 4, 30_000);
    const refused = proxy.stats().refused - before.refused;
    const healedAt = Date.now();
    proxy.setMode({ kind: 'pass' });
    const run = await waitForRun(service, key, runId, 90_000);
    expect(run.state).toBe('completed');
    console.info(
      `[faults] bucket refuses connections: ${refused} reset on connect over ${healedAt - startedAt} ms; run completed ${Date.now() - healedAt} ms after recovery; steps ${attemptsOf(run)}`,
    );
  }, 120_000);

  it('retries PUTs cut mid-body and completes; nothing published ever points at a short object', async () => {
    const before = proxy.stats();
    const { runId, startedAt } = await acceptedRunThenBreak({ kind: 'reset', afterBytes: 512, methods: ['PUT'] });
    await waitFor('four PUT bodies cut part-way', () => proxy.stats().truncatedBodies - before.truncatedBodies >= 4, 30_000);
    const truncated = proxy.stats().truncatedBodies - before.truncatedBodies;
    // While the bucket still fails, every object a manifest or set marker points at is whole.
    const during = await checkBucketIsWhole(s3, bucket, { referencedOnly: true });
    expect(during.problems).toEqual([]);
    const unpublishedCut = (await checkBucketIsWhole(s3, bucket)).problems.length;
    const healedAt = Date.now();
    proxy.setMode({ kind: 'pass' });
    const run = await waitForRun(service, key, runId, 90_000);
    expect(run.state).toBe('completed');
    console.info(
      `[faults] bucket resets mid-PUT: ${truncated} bodies cut after 512 bytes over ${healedAt - startedAt} ms (s3rver showed ${unpublishedCut} short unpublished objects meanwhile); run completed ${Date.now() - healedAt} ms after recovery; steps ${attemptsOf(run)}`,
    );
  }, 120_000);

  it('abandons stalled requests after S3_IDLE_TIMEOUT_MS, retries, and completes', async () => {
    const before = proxy.stats();
    const { runId, startedAt } = await acceptedRunThenBreak({ kind: 'stall' });
    await waitFor('three stalled requests', () => proxy.stats().stalled - before.stalled >= 3, 30_000);
    const stalled = proxy.stats().stalled - before.stalled;
    expect((await checkBucketIsWhole(s3, bucket)).problems).toEqual([]);
    const healedAt = Date.now();
    proxy.setMode({ kind: 'pass' });
    const run = await waitForRun(service, key, runId, 90_000);
    expect(run.state).toBe('completed');
    console.info(
      `[faults] bucket stall: ${stalled} requests held over ${healedAt - startedAt} ms; run completed ${Date.now() - healedAt} ms after recovery; steps ${attemptsOf(run)}`,
    );
  }, 120_000);

  it('never leaves a partial or corrupt object readable', async () => {
    const { objects, problems } = await checkBucketIsWhole(s3, bucket);
    // 4 runs: original, asset record, 6 renditions + lossless master + set marker, 6 stable URLs +
    // manifest, and the asset's publication marker for its set, each.
    expect(objects).toBe(4 * 18);
    expect(problems).toEqual([]);
  });
});
