import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPipelineClient, PipelineError } from '../../client/src/index.js';
import { createTenant, fixture, startTestService, type TestService } from '../harness.js';

let service: TestService;
let key: string;
beforeAll(async () => {
  // No inference worker and a queue depth of 1: two runs with an AI step fill it for good.
  service = await startTestService({ WORKER_QUEUES: 'publish', SANDBOXED_PROCESSORS: 'false', MAX_QUEUE_DEPTH: '1' });
  ({ key } = await createTenant(service));
  const plain = createPipelineClient({ baseUrl: service.url, apiKey: key });
  for (const colour of ['#111111', '#222222']) {
    const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: colour } })
      .png()
      .toBuffer();
    await plain.uploadAsset(png, { recipe: { steps: [{ name: 'remove-background' }, { name: 'render' }] } });
  }
  // The guard reads the depth at most once a second (DEPTH_CACHE_MS): let it see the full queue.
  await new Promise((resolve) => setTimeout(resolve, 1100));
});
afterAll(async () => {
  await service?.stop();
});

/** The real server's 503 (backpressure, `Retry-After: 5`), retried by the client as it says. */
it('retries an upload refused with 503 after Retry-After, with the same Idempotency-Key, then gives up', async () => {
  const waits: number[] = [];
  const sent: Request[] = [];
  const client = createPipelineClient({
    baseUrl: service.url,
    apiKey: key,
    retry: { attempts: 3 },
    sleep: async (ms) => {
      waits.push(ms);
    },
    fetch: (input, init) => {
      const request = new Request(input, init);
      sent.push(request.clone());
      return fetch(request);
    },
  });
  for (const source of [new URL(fixture('HappyFish.jpg')).pathname, await readFile(new URL(fixture('HappyFish.jpg')))]) {
    sent.length = 0;
    waits.length = 0;
    const err = (await client.uploadAsset(source).catch((e: unknown) => e)) as PipelineError;
    expect(err).toBeInstanceOf(PipelineError);
    expect([err.status, err.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((r) => r.headers.get('idempotency-key'))).size).toBe(1);
    expect(waits).toHaveLength(2);
    for (const ms of waits) {
      expect(ms).toBeGreaterThanOrEqual(5000);
      expect(ms).toBeLessThanOrEqual(5500);
    }
  }
});
