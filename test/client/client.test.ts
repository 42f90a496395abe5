import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineClient, PipelineError, type PipelineClient, type Recipe, type Run } from '../../client/src/index.js';
import { createTenant, fixture, startTestService, type TestService } from '../harness.js';

const RENDER_32: Recipe = { steps: [{ name: 'render', options: { widths: [32], formats: ['jpeg'] } }] };

/**
 * The typed client against a real service (fastify on a port, Redis, render and publish workers):
 * every hand-written part once, and the generated operations through openapi-fetch.
 */
describe('the typed client against the real server', () => {
  let service: TestService;
  let client: PipelineClient;
  let key: string;
  /** Every request the client sent, as it left (through a pass-through fetch). */
  const sent: Request[] = [];

  beforeAll(async () => {
    // One event stream at a time, so a test can fill it; no inference worker, so a run with an AI step stays queued.
    service = await startTestService({
      WORKER_QUEUES: 'render,publish,batch',
      SANDBOXED_PROCESSORS: 'false',
      BATCH_CPU_NICE: '0',
      RUN_EVENTS_MAX_STREAMS: '1',
    });
    ({ key } = await createTenant(service));
    client = createPipelineClient({
      baseUrl: `${service.url}/`,
      apiKey: key,
      fetch: (input, init) => {
        const request = new Request(input, init);
        sent.push(request.clone());
        return fetch(request);
      },
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('uploads from a path with recipe and SKU and waits on the event stream', async () => {
    const progress: Run[] = [];
    const { asset, run, reused } = await client.uploadAsset(new URL(fixture('HappyFish.jpg')).pathname, {
      sku: 'fish-1',
      recipe: RENDER_32,
    });
    expect(reused).toBe(false);
    expect(asset.original.filename).toBe('HappyFish.jpg');
    const final = await client.waitForRun(run.id, { onProgress: (r) => progress.push(r) });
    expect(final.state).toBe('completed');
    expect(final.outputs?.manifestUrl).toMatch(/^http/);
    expect(progress.at(-1)?.state).toBe('completed');
    expect(sent.some((r) => r.url.endsWith(`/v1/runs/${run.id}/events`) && r.headers.get('accept') === 'text/event-stream')).toBe(true);
    const stored = await client.getAsset(asset.id);
    expect([stored.sku, stored.runIds]).toEqual(['fish-1', [run.id]]);
    expect(stored.manifestUrl).toBe(final.outputs?.manifestUrl);
  });

  it('uploads bytes and a stream, and polls when asked to', async () => {
    const png = await sharp({ create: { width: 48, height: 40, channels: 3, background: '#c0392b' } })
      .png()
      .toBuffer();
    const fromBytes = await client.uploadAsset(png, { filename: 'red.png', recipe: RENDER_32 });
    const fromStream = await client.uploadAsset(createReadStream(new URL(fixture('HappyFish.jpg'))), {
      filename: 'fish.jpg',
      sku: 'fish-2',
    });
    expect(fromBytes.asset.original).toMatchObject({ format: 'png', width: 48, height: 40, filename: 'red.png' });
    expect(fromStream.asset.original).toMatchObject({ format: 'jpeg', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const polled = await client.waitForRun(fromBytes.run.id, { events: false, pollIntervalMs: 100 });
    expect(polled.state).toBe('completed');
    expect(sent.some((r) => r.url.endsWith(`/v1/runs/${fromBytes.run.id}/events`))).toBe(false);
    expect((await client.waitForRun(fromStream.run.id)).state).toBe('completed');
  });

  it('puts an Idempotency-Key on each POST, which the server honours', async () => {
    const before = sent.length;
    const { asset } = await client.uploadAsset(await readFile(new URL(fixture('HappyFish.jpg'))), { recipe: RENDER_32 });
    const upload = sent.slice(before).find((r) => r.method === 'POST')!;
    expect(upload.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);

    const { data, response } = await client.api.POST('/v1/assets/{id}/runs', { params: { path: { id: asset.id } }, body: RENDER_32 });
    expect(response.status).toBe(202);
    const runPost = sent.at(-1)!;
    const idempotencyKey = runPost.headers.get('idempotency-key')!;
    expect(idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    // The same request again with that key (as a retry after a lost answer would be): replayed, not run twice.
    const again = await fetch(`${service.url}/v1/assets/${asset.id}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(RENDER_32),
    });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe((data as { id: string }).id);
  });

  it('submits a catalog from an iterable and reads its results', async () => {
    const { asset } = await client.uploadAsset(await readFile(new URL(fixture('HappyFish.jpg'))), { recipe: RENDER_32 });
    async function* items() {
      for (const sku of ['cat-1', 'cat-2'])
        yield { sku, source: asset.id, recipe: { steps: [{ name: 'render', options: { widths: [24], formats: ['jpeg'] } }] } };
    }
    const submission = await client.submitCatalog(items());
    expect(submission.accepted).toBe(2);
    const done = await client.waitForBatch(submission.batch.id, { pollIntervalMs: 200, timeoutMs: 120_000 });
    expect(done.counts).toMatchObject({ total: 2, completed: 2, failed: 0 });
    const lines = [];
    for await (const line of client.batchResults(submission.batch.id)) lines.push(line);
    expect(lines.map((l) => [l.line, l.sku, l.state])).toEqual([
      [1, 'cat-1', 'completed'],
      [2, 'cat-2', 'completed'],
    ]);
  });

  it("throws PipelineError with the server's code", async () => {
    const missing = (await client.waitForRun('run_00000000000000000000000000000000').catch((e: unknown) => e)) as PipelineError;
    expect(missing).toBeInstanceOf(PipelineError);
    expect([missing.status, missing.code]).toEqual([404, 'NOT_FOUND']);
    expect(missing.requestId).toBeTruthy();
    const corrupt = (await client.uploadAsset(Buffer.from('not an image')).catch((e: unknown) => e)) as PipelineError;
    expect(corrupt.status).toBeGreaterThanOrEqual(400);
    expect(corrupt.code).toMatch(/UNSUPPORTED_MEDIA_TYPE|CORRUPT_IMAGE/);
    const badKey = createPipelineClient({ baseUrl: service.url, apiKey: 'nope' });
    expect(((await badKey.getBatch('bat_00000000000000000000000000000000').catch((e: unknown) => e)) as PipelineError).code).toBe(
      'UNAUTHORIZED',
    );
  });

  it('polls when the server refuses another event stream (503), and times out on a run that does not end', async () => {
    const photo = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#6a4c93' } })
      .png()
      .toBuffer();
    const stuck = await client.uploadAsset(photo, { recipe: { steps: [{ name: 'remove-background' }, { name: 'render' }] } });
    // The one stream this server allows, held open by a run that waits for an inference worker.
    const held = new AbortController();
    const stream = await fetch(`${service.url}/v1/runs/${stuck.run.id}/events`, {
      headers: { authorization: `Bearer ${key}` },
      signal: held.signal,
    });
    expect(stream.status).toBe(200);
    try {
      const { run } = await client.uploadAsset(await readFile(new URL(fixture('HappyFish.jpg'))), {
        recipe: { steps: [{ name: 'render', options: { widths: [20], formats: ['jpeg'] } }] },
      });
      const before = sent.length;
      expect((await client.waitForRun(run.id, { pollIntervalMs: 100 })).state).toBe('completed');
      // The stream was asked for, refused, and the run polled instead.
      expect(
        sent
          .slice(before)
          .map((r) => new URL(r.url).pathname)
          .filter((p) => p.startsWith(`/v1/runs/${run.id}`))[0],
      ).toBe(`/v1/runs/${run.id}/events`);
      expect(sent.slice(before).some((r) => r.url.endsWith(`/v1/runs/${run.id}`))).toBe(true);
      const late = (await client
        .waitForRun(stuck.run.id, { events: false, timeoutMs: 500, pollIntervalMs: 100 })
        .catch((e: unknown) => e)) as PipelineError;
      expect([late.name, late.code]).toEqual(['PipelineError', 'TIMEOUT']);
    } finally {
      held.abort();
    }
  });
});
