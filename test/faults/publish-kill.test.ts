import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCdnConfig } from '../../cdn/config.js';
import { createStorage } from '../../cdn/create-storage.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { createTenant, fixture, waitForRun } from '../harness.js';
import { startS3rver, type S3rverHandle } from '../s3rver.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startFaultService, type FaultService } from './fault-service.js';
import { isAlive, waitFor } from './wait.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

const RENDER = (widths: number[], formats: string[]) => ({ steps: [{ name: 'render', options: { widths, formats } }] });

/**
 * A publish worker SIGKILLed between writing an asset's new stable objects (and manifest) and
 * removing the stale ones: the bucket holds the mixed namespace while nothing runs, and the job's
 * retry on another worker process leaves exactly what the manifest lists, under `latest/` and the
 * SKU. The kill lands at that point because the bucket (behind the fault proxy) holds DELETEs.
 */
describe('a publish worker killed between writing and removing stale stable URLs', () => {
  let s3: S3rverHandle;
  let proxy: FaultProxy;
  let service: FaultService;
  let bucket: ObjectStorage;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    s3 = await startS3rver();
    const name = await s3.bucket();
    const { port } = new URL(s3.endpoint);
    proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(port) });
    // API, inference and render here; publish only in its own processes, started below.
    service = await startFaultService(
      { ...s3.serviceEnv(name, proxy.url), WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '500' },
      ['inference', 'render'],
    );
    // The test reads the bucket directly, not through the proxy.
    bucket = createStorage(loadCdnConfig({ ...service.env, S3_ENDPOINT: s3.endpoint }));
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await service?.stop();
    await proxy?.close();
    await s3?.stop();
  });

  async function keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const k of bucket.list(prefix)) out.push(k.slice(prefix.length));
    return out.sort();
  }

  it('leaves the namespace repaired by the retry: exactly the manifest, old SKU files gone', async () => {
    const { key, tenantId } = await createTenant(service, 'Publish kill');
    const first = spawnWorker('publish', service.env);
    workers.push(first);
    await first.ready;

    const form = new FormData();
    form.append('recipe', JSON.stringify(RENDER([200, 259], ['avif', 'webp', 'jpeg'])));
    form.append('sku', 'KILL-1');
    form.append('file', new Blob([await readFile(fixture('HappyFish.jpg'))]), 'fish.jpg');
    const res = await fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    const { asset, run } = (await res.json()) as { asset: { id: string }; run: { id: string } };
    expect((await waitForRun(service, key, run.id)).state).toBe('completed');
    const latest = `t/${tenantId}/assets/${asset.id}/latest/`;
    const sku = `t/${tenantId}/sku/KILL-1/`;
    expect(await keys(latest)).toHaveLength(6);

    // The re-render of the seen case; the bucket holds the first DELETE: the worker is then past
    // every write (stable objects, manifest) and before any removal.
    proxy.setMode({ kind: 'stall', methods: ['DELETE'] });
    const again = await fetch(`${service.url}/v1/assets/${asset.id}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(RENDER([200], ['webp'])),
    });
    const run2 = ((await again.json()) as { id: string }).id;
    await waitFor('publish to reach its first removal', () => proxy.stats().requests.some((r) => r.startsWith('DELETE ')), 60_000, 20);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isAlive(first.pid)).toBe(false);
    proxy.setMode({ kind: 'pass' });

    // Killed mid-publish: the new manifest is out, the stale stable objects are still there.
    const manifest = JSON.parse((await bucket.get(`t/${tenantId}/assets/${asset.id}/manifest.json`))!.toString()) as { runId: string };
    expect(manifest.runId).toBe(run2);
    expect(await keys(latest)).toEqual(['200.avif', '200.jpg', '200.webp', '259.avif', '259.jpg', '259.webp']);

    const second = spawnWorker('publish', service.env);
    workers.push(second);
    await second.ready;
    expect((await waitForRun(service, key, run2, 60_000)).state).toBe('completed');
    expect(await keys(latest)).toEqual(['200.webp']);
    expect(await keys(sku)).toEqual(['200.webp']);
  }, 180_000);
});
