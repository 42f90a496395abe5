import { createServer, type Server } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, upload, waitForRun } from '../harness.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startFaultService, type FaultService } from './fault-service.js';
import { waitFor } from './wait.js';

interface RunWithPurge {
  state: string;
  outputs?: { manifestKey: string };
  purge?: { state: string; attempts: number; error?: { code: string } };
}

/**
 * The CDN's purge endpoint down (every connection reset) while a run publishes: the run completes
 * and its images are published at once; the purge waits in the outbox, is retried with backoff
 * (5 s doubling, jitter), and is sent once the endpoint is back.
 */
describe('the CDN purge endpoint down', () => {
  let cdn: Server;
  let proxy: FaultProxy;
  let service: FaultService;
  const purged: string[] = [];

  beforeAll(async () => {
    // A Varnish purge endpoint stand-in: 200 for xkey PURGE and BAN, recording what it was asked.
    // Raw TCP, because node:http refuses the BAN method with 400 before any handler runs.
    cdn = createServer((socket) => {
      let pending = '';
      socket.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        let end;
        while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
          const head = pending.slice(0, end);
          pending = pending.slice(end + 4);
          const [method, target] = head.split(' ');
          const xkey = /\r\nxkey:\s*([^\r]*)/i.exec(head)?.[1];
          purged.push(`${method} ${xkey ?? target}`);
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
    proxy = await startFaultProxy({ host: '127.0.0.1', port: (cdn.address() as { port: number }).port });
    service = await startFaultService({ CDN_INVALIDATOR: 'varnish', VARNISH_URL: proxy.url });
  });
  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await new Promise((resolve) => cdn?.close(resolve));
  });

  it('completes the run, retries the purge, and purges once the CDN is back', async () => {
    const { key } = await createTenant(service);
    proxy.setMode({ kind: 'refuse' });
    const image = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#c0ffee' } })
      .jpeg()
      .toBuffer();
    const res = await upload(service, key, image, {
      recipe: { steps: [{ name: 'render', options: { widths: [160, 320], formats: ['jpeg'] } }] },
    });
    expect(res.status).toBe(202);
    const { run: accepted, asset } = (await res.json()) as { run: { id: string }; asset: { id: string } };
    const getRun = async () =>
      (await (
        await fetch(`${service.url}/v1/runs/${accepted.id}`, { headers: { authorization: `Bearer ${key}` } })
      ).json()) as RunWithPurge;

    // Published while the CDN is unreachable: the render is not held back by the purge.
    const run = await waitForRun(service, key, accepted.id, 60_000);
    expect(run.state).toBe('completed');
    const manifest = await fetch(`${service.url}/files/${(run as RunWithPurge).outputs!.manifestKey}`);
    expect(manifest.status).toBe(200);
    const failing = await waitFor(
      'the purge to fail and wait for a retry',
      async () => {
        const r = await getRun();
        return r.purge?.state === 'retrying' && r.purge;
      },
      30_000,
      100,
    );
    expect(failing.error?.code).toBe('CDN_PURGE_FAILED');
    expect(purged).toEqual([]);
    const refused = proxy.stats().refused;
    expect(refused).toBeGreaterThan(0);

    const healedAt = Date.now();
    proxy.setMode({ kind: 'pass' });
    const done = await waitFor(
      'the purge to complete',
      async () => {
        const r = await getRun();
        return r.purge?.state === 'completed' && r;
      },
      60_000,
      100,
    );
    expect(done.state).toBe('completed');
    expect(done.purge!.attempts).toBeGreaterThanOrEqual(2);
    expect(purged.some((p) => p.startsWith('PURGE ') && p.includes(asset.id))).toBe(true);
    console.info(
      `[faults] CDN purge down: run completed while ${refused} purge connections were refused; purge completed on attempt ${done.purge!.attempts}, ${Date.now() - healedAt} ms after the CDN came back`,
    );
  }, 120_000);
});
