import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from '../../bin/service.js';
import { createTenant, fixture, REDIS_URL, startTestService, upload, waitForRun, type TestService } from '../harness.js';

/**
 * A worker-only process (as `node dist/bin/worker.js render` runs) serves /metrics on
 * WORKER_METRICS_PORT, so the step timings recorded where steps run can be scraped.
 */
describe('metrics of a worker-only process', () => {
  let api: TestService;
  let renderWorker: Service;
  let key: string;

  beforeAll(async () => {
    // The API process runs every worker kind but render: renders happen only in the other process.
    api = await startTestService({ WORKER_QUEUES: 'inference,publish,batch' });
    ({ key } = await createTenant(api));
    renderWorker = await startService({
      env: {
        ...process.env,
        REDIS_URL,
        QUEUE_PREFIX: api.prefix,
        DATA_DIR: api.dataDir,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        MODELS_WARM: '',
        WORKER_METRICS_PORT: '0',
      },
      api: false,
      workerQueues: ['render'],
    });
  });
  afterAll(async () => {
    await renderWorker?.close();
    await api?.stop();
  });

  it('counts the renders it ran and reports the queues', async () => {
    expect(renderWorker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await upload(api, key, await readFile(fixture('HappyFish.jpg')), {
      recipe: { steps: [{ name: 'render', options: { widths: [100], formats: ['webp'] } }] },
    });
    const { run } = (await res.json()) as { run: { id: string } };
    expect((await waitForRun(api, key, run.id)).state).toBe('completed');

    const scrape = await fetch(`${renderWorker.metricsUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await scrape.text();
    expect(text).toMatch(/pipeline_step_duration_seconds_count\{step="render",model=""\} 1\b/);
    expect(text).toMatch(/queue_jobs\{queue="render",state="waiting"\} \d+/);
    // The API process ran no render, so its own count stays at zero.
    const apiText = await (await fetch(`${api.url}/metrics`)).text();
    expect(apiText).not.toMatch(/pipeline_step_duration_seconds_count\{step="render",model=""\} [1-9]/);

    expect((await fetch(`${renderWorker.metricsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${renderWorker.metricsUrl}/v1/assets`)).status).toBe(404);
  });
});
