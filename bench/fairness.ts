/**
 * Fairness under real contention: a catalog keeps every batch worker busy while interactive
 * uploads arrive at a steady rate (one every INTERVAL_MS, whether or not the last one finished).
 * Each round takes three samples side by side, under the same background load on the machine:
 *   1. uploads alone (the catalog paused and drained): the interactive idle latency;
 *   2. the catalog alone for as long as step 3 lasts: its idle throughput;
 *   3. the catalog and the uploads together: interactive latency and catalog throughput under contention.
 * Targets: interactive p95 <= 1.5x idle, and the catalog keeps >= 60% of its idle throughput.
 *
 *   npm run bench:fairness            (ROUNDS=3 SAMPLES=10 INTERVAL_MS=1500 ITEMS=5000 by default)
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { startService } from '../bin/service.js';
import { deleteKeys } from '../test/harness.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SAMPLES = Number(process.env.SAMPLES ?? 10);
const INTERVAL_MS = Number(process.env.INTERVAL_MS ?? 1500);
const ITEMS = Number(process.env.ITEMS ?? 5000);
const ADMIN = `bench-admin-${randomUUID()}`;
const fixture = (name: string) => new URL(`../test/fixtures/${name}`, import.meta.url).pathname;
/** What a merchant uploading one photo gets: two widths, WebP and JPEG. */
const INTERACTIVE_RECIPE = { steps: [{ name: 'render', options: { widths: [320, 640], formats: ['webp', 'jpeg'] } }] };

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.95 * xs.length) - 1)]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A copy of a photo that differs by one pixel: new bytes, so nothing is reused from an earlier run. */
async function variant(file: string, n: number): Promise<Buffer> {
  const dot = await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: n % 256, g: (n >> 8) % 256, b: 77 } } })
    .png()
    .toBuffer();
  return sharp(file)
    .composite([{ input: dot, left: n % 50, top: (n >> 3) % 50 }])
    .png()
    .toBuffer();
}

async function main(): Promise<void> {
  const prefix = `bench-fairness-${randomUUID()}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-fairness-'));
  const service = await startService({
    env: {
      ...process.env,
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      PORT: '0',
      ADMIN_API_KEY: ADMIN,
      LOG_LEVEL: 'silent',
      MODELS_WARM: '',
      UPLOAD_RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_PER_MINUTE: '100000',
    },
  });
  const url = service.url!;
  try {
    const tenant = (await (
      await fetch(`${url}/v1/tenants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: '{"name":"bench"}',
      })
    ).json()) as { apiKey: { key: string } };
    const key = tenant.apiKey.key;
    const auth = { authorization: `Bearer ${key}` };

    const uploadAndWait = async (bytes: Buffer, recipe: unknown): Promise<{ ms: number; assetId: string }> => {
      const t0 = performance.now();
      const form = new FormData();
      form.append('recipe', JSON.stringify(recipe));
      form.append('file', new Blob([bytes]), 'photo.png');
      const res = await fetch(`${url}/v1/assets`, { method: 'POST', headers: auth, body: form });
      const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
      if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`);
      for (;;) {
        const run = (await (await fetch(`${url}/v1/runs/${body.run.id}`, { headers: auth })).json()) as { state: string };
        if (run.state === 'completed') return { ms: performance.now() - t0, assetId: body.asset.id };
        if (run.state === 'failed') throw new Error(`interactive run failed: ${JSON.stringify(run)}`);
        await sleep(20);
      }
    };
    const batchStatus = async (id: string) =>
      (await (await fetch(`${url}/v1/batches/${id}`, { headers: auth })).json()) as {
        state: string;
        counts: Record<string, number>;
        throughputPerMinute: number;
      };
    const control = async (id: string, action: string) => fetch(`${url}/v1/batches/${id}/${action}`, { method: 'POST', headers: auth });

    // Catalog sources: a few distinct photos; each item renders its own width in three formats.
    const sources = await Promise.all(
      ['coffee.png', 'd02_mug_woodtable.png'].flatMap((f) => [0, 1, 2, 3, 4].map((n) => variant(fixture(f), 1000 + n))),
    );
    const assets: Array<{ id: string; width: number }> = [];
    for (const bytes of sources) {
      const { assetId } = await uploadAndWait(bytes, { steps: [{ name: 'render', options: { widths: [64], formats: ['jpeg'] } }] });
      assets.push({ id: assetId, width: (await sharp(bytes).metadata()).width! });
    }
    const lines: string[] = [];
    for (let i = 0; lines.length < ITEMS; i++) {
      const asset = assets[i % assets.length]!;
      const width = 16 + Math.floor(i / assets.length);
      if (width >= asset.width) throw new Error('not enough distinct widths for that many items');
      lines.push(JSON.stringify({ sku: `bench-${i}`, source: asset.id, options: { widths: [width], formats: ['avif', 'webp', 'jpeg'] } }));
    }
    const interactive = await Promise.all(
      Array.from({ length: ROUNDS * SAMPLES * 2 + 1 }, (_, n) => variant(fixture('d02_mug_woodtable.png'), n)),
    );
    await uploadAndWait(interactive.pop()!, INTERACTIVE_RECIPE); // warm the render children

    const submitted = await fetch(`${url}/v1/batches`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n'),
    });
    const { batch } = (await submitted.json()) as { batch: { id: string } };
    if (submitted.status !== 202) throw new Error(`batch answered ${submitted.status}`);

    const completed = async () => (await batchStatus(batch.id)).counts.completed!;
    /** SAMPLES uploads, one every INTERVAL_MS (open loop); their latencies and how long it all took. */
    const steadyUploads = async (): Promise<{ ms: number[]; wallMs: number }> => {
      const t0 = performance.now();
      const runs: Array<Promise<number>> = [];
      for (let s = 0; s < SAMPLES; s++) {
        runs.push(uploadAndWait(interactive.pop()!, INTERACTIVE_RECIPE).then((r) => r.ms));
        if (s < SAMPLES - 1) await sleep(INTERVAL_MS);
      }
      const ms = await Promise.all(runs);
      return { ms, wallMs: performance.now() - t0 };
    };

    const idle: number[] = [];
    const busy: number[] = [];
    const alonePerMin: number[] = [];
    const contendedPerMin: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // 1. Uploads alone.
      await control(batch.id, 'pause');
      while ((await batchStatus(batch.id)).counts.active! > 0) await sleep(50);
      const alone = await steadyUploads();
      idle.push(...alone.ms);
      // 2. The catalog alone, flat out, for as long as the uploads took.
      await control(batch.id, 'resume');
      while ((await batchStatus(batch.id)).counts.active! === 0) await sleep(50);
      await sleep(2000); // every worker busy, not just the first items
      const a0 = await completed();
      const ta = performance.now();
      await sleep(alone.wallMs);
      alonePerMin.push(((await completed()) - a0) / ((performance.now() - ta) / 60_000));
      // 3. Both together.
      const c0 = await completed();
      const tc = performance.now();
      const together = await steadyUploads();
      contendedPerMin.push(((await completed()) - c0) / ((performance.now() - tc) / 60_000));
      busy.push(...together.ms);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS}: interactive p95 idle ${p95(idle).toFixed(0)} ms, under the catalog ${p95(busy).toFixed(0)} ms; catalog ${alonePerMin.at(-1)!.toFixed(0)} items/min alone, ${contendedPerMin.at(-1)!.toFixed(0)} with the uploads\n`,
      );
    }
    await control(batch.id, 'cancel');

    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const catalogShare = sum(contendedPerMin) / sum(alonePerMin);
    const row = (name: string, xs: number[]) => `| ${name} | ${xs.length} | ${median(xs).toFixed(0)} | ${p95(xs).toFixed(0)} |`;
    const cfg = service.config;
    console.log(
      `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(
          ' ',
        )}; catalog: ${ITEMS} items, BATCH_CONCURRENCY=${cfg.workers.concurrency.batch} step children (nice ${cfg.batch.cpuNice}, BATCH_YIELD_MAX_MS=${cfg.batch.yieldMaxMs}), RENDER_CONCURRENCY=${cfg.workers.concurrency.render}`,
    );
    console.log(`Interactive uploads: one every ${INTERVAL_MS} ms, ${SAMPLES} per sample, ${ROUNDS} rounds.\n`);
    console.log('| interactive runs | samples | median ms | p95 ms |\n| --- | ---: | ---: | ---: |');
    console.log(row('idle (catalog paused)', idle));
    console.log(row('under a catalog running flat out', busy));
    console.log(`\n| catalog throughput | items/min, each round | total |\n| --- | --- | ---: |`);
    console.log(`| alone | ${alonePerMin.map((x) => x.toFixed(0)).join(', ')} | ${(sum(alonePerMin) / ROUNDS).toFixed(0)} |`);
    console.log(
      `| with the uploads | ${contendedPerMin.map((x) => x.toFixed(0)).join(', ')} | ${(sum(contendedPerMin) / ROUNDS).toFixed(0)} |`,
    );
    const ratio = p95(busy) / p95(idle);
    console.log(
      `\n- interactive p95 ratio (under the catalog / idle): **${ratio.toFixed(2)}x** (target <= 1.5x): ${ratio <= 1.5 ? 'PASS' : 'MISS'}; median ratio ${(median(busy) / median(idle)).toFixed(2)}x`,
    );
    console.log(
      `- catalog throughput kept under the uploads: **${(catalogShare * 100).toFixed(0)}%** of alone (target >= 60%): ${catalogShare >= 0.6 ? 'PASS' : 'MISS'}`,
    );
  } finally {
    await service.close();
    await deleteKeys(`${prefix}:*`);
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
