/**
 * Catalog overhead: the same items rendered through the catalog lane (batch queue, low-priority
 * step children, storage, publish) and as bare decode + encode (the set and its lossless master)
 * in this process at the same concurrency, in one run, for small and for large photos. Prints items/min/core, wall and CPU
 * time for both sides, the overhead, and where a catalog item's time goes.
 *
 *   npm run bench:catalog            (SIZES=small,large ROUNDS=3 SMALL_REPEAT=1 LARGE_REPEAT=1)
 *
 * Runs the built code (the script builds first), as production does.
 *
 * The step children run at nice 0 here (BATCH_CPU_NICE=0 unless set), like the in-process side.
 * PROFILE_LANE=<folder> writes a CPU profile of the service process per lane round (open it in
 * Chrome's DevTools): what the service does around the children, the in-process side left out.
 * PERF_CONTROL=<ctl fifo>,<ack fifo> samples the whole machine (step children, Redis, the kernel)
 * during the lane rounds only, with a perf session started as
 *   mkfifo ctl ack; perf record -a -g -D -1 --control fifo:ctl,ack -o lane.data &
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { deleteKeys } from '../test/redis-keys.js';
import type { OutputFormat } from '../workers/steps/types.js';
import { uniqueJpeg } from './load-photos.js';
import { cpuSince, processTreeCpu, totalCpuMs, type TreeCpu } from './process-cpu.js';

// Both sides run the built code (`dist/`, as production does; `npm run bench:catalog` builds
// first): from the TypeScript sources the service and its step children would also run the
// TypeScript loader, a cost production does not have.
const dist = (file: string) => new URL(`../dist/${file}`, import.meta.url).href;
const { startService } = (await import(dist('bin/service.js'))) as typeof import('../bin/service.js');
const { createRedis } = (await import(dist('lib/redis.js'))) as typeof import('../lib/redis.js');
const { decodeSource } = (await import(dist('workers/steps/decode.js'))) as typeof import('../workers/steps/decode.js');
const { renderResponsiveSet } = (await import(
  dist('workers/steps/responsive-set.js')
)) as typeof import('../workers/steps/responsive-set.js');
const { OUTPUT_FORMATS } = (await import(dist('workers/steps/types.js'))) as typeof import('../workers/steps/types.js');

const SIZES = (process.env.SIZES ?? 'small,large').split(',');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ADMIN = `bench-admin-${randomUUID()}`;
const shared = (dir: string, name: string) => path.resolve(import.meta.dirname, '../../shared/fixtures', dir, name);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Small: 8 photos (259-640 px wide) × 5 width options = 40 items. Large: 3 photos of 3000×3000 × 2 options. */
const WORKLOADS = {
  small: {
    photos: ['HappyFish.jpg', 'apple.jpg', 'butterfly.jpg', 'coffee.png', 'fruits.jpg', 'orange.jpg', 'rocket.jpg', 'smarties.png'].map(
      (n) => shared('photos', n),
    ),
    widths: [[120], [160], [200], [240], [120, 240]],
    repeat: Number(process.env.SMALL_REPEAT ?? 1),
  },
  large: {
    photos: ['d02_mug_woodtable.jpg', 'd06_cereal_checker.jpg', 'd10_dumbbell_granite.jpg'].map((n) => shared('large', n)),
    widths: [[1280], [640, 1920]],
    repeat: Number(process.env.LARGE_REPEAT ?? 1),
  },
} as const;

interface Item {
  sku: string;
  bytes: Buffer;
  widths: number[];
}
interface Side {
  wallMs: number;
  cpuMs: number;
  cpu: TreeCpu;
}

/** Each photo as a JPEG (PNG fixtures re-encoded once), tagged so every run's bytes are new. */
async function photosAsJpeg(files: readonly string[]): Promise<Buffer[]> {
  return Promise.all(files.map(async (f) => (f.endsWith('.png') ? sharp(f).jpeg({ quality: 92 }).toBuffer() : readFile(f))));
}

async function measure(fn: () => Promise<void>): Promise<Side> {
  const c0 = processTreeCpu();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const cpu = cpuSince(c0);
  return { wallMs, cpuMs: totalCpuMs(cpu), cpu };
}

/** What a run leaves countable, whatever the machine's noise: Redis commands, files and names on disk. */
interface Footprint {
  redisCommands: number;
  /** Distinct files (inodes) under the storage folder: a hard link is a name, not a file. */
  files: number;
  names: number;
}

async function footprint(redis: ReturnType<typeof createRedis>, root: string): Promise<Footprint> {
  const info = await redis.info('stats');
  const redisCommands = Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
  const inodes = new Set<number>();
  let names = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        names++;
        inodes.add((await lstat(full)).ino);
      }
    }
  };
  await walk(root);
  return { redisCommands, files: inodes.size, names };
}

/**
 * Tell a `perf record --control fifo:<ctl>,<ack>` session (PERF_CONTROL=<ctl>,<ack>) to start or
 * stop sampling, and wait for its acknowledgement, so the samples cover the lane rounds exactly.
 */
function perfControl(command: 'enable' | 'disable'): void {
  const [ctl, ack] = (process.env.PERF_CONTROL ?? '').split(',');
  if (!ctl || !ack) return;
  writeFileSync(ctl, `${command}\n`);
  const fd = openSync(ack, 'r');
  try {
    readSync(fd, Buffer.alloc(5)); // perf answers "ack\n\0"
  } finally {
    closeSync(fd);
  }
}

/**
 * Profile the service process's main thread while `fn` runs, into PROFILE_LANE's folder when set;
 * and sample the whole machine with perf when PERF_CONTROL is set.
 */
async function profiled(name: string, fn: () => Promise<void>): Promise<void> {
  perfControl('enable');
  try {
    await profiledService(name, fn);
  } finally {
    perfControl('disable');
  }
}

async function profiledService(name: string, fn: () => Promise<void>): Promise<void> {
  const folder = process.env.PROFILE_LANE;
  if (!folder) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, `${name}.cpuprofile`), JSON.stringify(profile));
  }
}

const s2 = (ms: number) => (ms / 1000).toFixed(2);
/** Where the CPU time was spent: the service process and the step children, user + system. */
const cpuSplit = (c: TreeCpu) => `${s2(c.self.userMs)} + ${s2(c.self.sysMs)} | ${s2(c.children.userMs)} + ${s2(c.children.sysMs)}`;

/** Run `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** 'catalog item completed' lines, collected from the service's log. */
const itemLines: Array<{ batchId: string; durationMs: number; timings: Record<string, number> }> = [];
const logSink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of String(chunk).split('\n')) {
      if (!line.includes('catalog item completed')) continue;
      try {
        itemLines.push(JSON.parse(line) as (typeof itemLines)[number]);
      } catch {
        /* a partial line: not ours */
      }
    }
    done();
  },
});

async function main(): Promise<void> {
  const prefix = `bench-catalog-${randomUUID()}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-catalog-'));
  const service = await startService({
    // The step children at this process's priority: on a shared machine a nice-19 child loses to
    // everyone else's work, which is the fairness benchmark's question, not this one's.
    env: {
      BATCH_CPU_NICE: '0',
      ...process.env,
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      PORT: '0',
      ADMIN_API_KEY: ADMIN,
      LOG_LEVEL: 'info',
      MODELS_WARM: '',
      UPLOAD_RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_PER_MINUTE: '100000',
    },
    logDestination: logSink,
  });
  const url = service.url!;
  const concurrency = service.config.workers.concurrency.batch;
  const limits = service.config.workers.decodeLimits;
  const rows: string[] = [];
  const footprints: string[] = [];
  const redis = createRedis(service.config.workers.redis, 'bench-catalog');
  const breakdowns: string[] = [];
  const roundLines: string[] = [];
  try {
    const tenant = (await (
      await fetch(`${url}/v1/tenants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: '{"name":"bench"}',
      })
    ).json()) as { apiKey: { key: string } };
    const auth = { authorization: `Bearer ${tenant.apiKey.key}` };
    const upload = async (bytes: Buffer): Promise<string> => {
      const form = new FormData();
      form.append('recipe', JSON.stringify({ steps: [{ name: 'render', options: { widths: [16], formats: ['jpeg'] } }] }));
      form.append('file', new Blob([bytes]), 'photo.jpg');
      const res = await fetch(`${url}/v1/assets`, { method: 'POST', headers: auth, body: form });
      const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
      if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`);
      for (;;) {
        const run = (await (await fetch(`${url}/v1/runs/${body.run.id}`, { headers: auth })).json()) as { state: string };
        if (run.state === 'completed') return body.asset.id;
        if (run.state === 'failed') throw new Error(`upload run failed: ${JSON.stringify(run)}`);
        await sleep(20);
      }
    };
    /** Submit a catalog and wait for it to finish; returns the batch id. */
    const runCatalog = async (lines: string[]): Promise<{ id: string; throughputPerMinute: number }> => {
      const res = await fetch(`${url}/v1/batches`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/x-ndjson' },
        body: lines.join('\n'),
      });
      const { batch } = (await res.json()) as { batch: { id: string } };
      if (res.status !== 202) throw new Error(`batch answered ${res.status}`);
      for (;;) {
        // Not too often: the status requests' CPU counts against the lane.
        await sleep(200);
        const status = (await (await fetch(`${url}/v1/batches/${batch.id}`, { headers: auth })).json()) as {
          state: string;
          counts: { failed: number };
          throughputPerMinute: number;
        };
        if (status.state === 'completed') {
          if (status.counts.failed) throw new Error(`${status.counts.failed} items failed`);
          return { id: batch.id, throughputPerMinute: status.throughputPerMinute };
        }
      }
    };
    const itemsOf = async (size: keyof typeof WORKLOADS, tag: string): Promise<Array<Item & { assetId: string }>> => {
      const w = WORKLOADS[size];
      const photos = await photosAsJpeg(w.photos);
      const out: Array<Item & { assetId: string }> = [];
      for (let r = 0; r < w.repeat; r++) {
        for (const [p, photo] of photos.entries()) {
          const bytes = uniqueJpeg(photo, `${tag}-${r}-${p}-${randomUUID()}`);
          const assetId = await upload(bytes);
          for (const [o, widths] of w.widths.entries()) out.push({ sku: `${size}-${r}-${p}-${o}`, bytes, widths: [...widths], assetId });
        }
      }
      return out;
    };
    const line = (i: Item & { assetId: string }) =>
      JSON.stringify({ sku: i.sku, source: i.assetId, options: { widths: i.widths, formats: OUTPUT_FORMATS } });
    const inProcess = (items: Item[]) =>
      pool(items, concurrency, async (i) => {
        const decoded = await decodeSource(i.bytes, limits);
        await renderResponsiveSet(decoded, { widths: i.widths, formats: [...OUTPUT_FORMATS] as OutputFormat[] });
        // Render also encodes each set's lossless master (the on-demand endpoint's source), as
        // workers/processors/render.ts does: compute the lane does too, not overhead.
        const { width, height, channels } = decoded;
        await sharp(decoded.data, { raw: { width, height, channels } }).png({ compressionLevel: 6 }).toBuffer();
      });

    // Warm both sides: start the lane's step children and load sharp's codecs here.
    const warm = await itemsOf('small', 'warm');
    const coldStart = performance.now();
    await runCatalog(warm.slice(0, concurrency).map(line));
    const coldMs = performance.now() - coldStart;
    const childStarts = itemLines.map((l) => l.timings.childStartMs ?? 0).filter((ms) => ms > 0);
    // Then enough items for the JIT to settle on both sides (a first round was 30-60% slower).
    await runCatalog(warm.slice(concurrency).map(line));
    await inProcess(warm);
    itemLines.length = 0;
    // What the idle service costs (BullMQ's blocking reads, the yield governor's 20 ms checks).
    const idle = await measure(() => sleep(3000));
    const idleCpuPerS = idle.cpuMs / (idle.wallMs / 1000);

    for (const size of SIZES as Array<keyof typeof WORKLOADS>) {
      // Rounds alternate the sides (fresh bytes each round), so drifting load hits both alike;
      // the table shows the round with the median lane/in-process wall ratio.
      const rounds: Array<{ base: Side; lane: Side; batch: { id: string; throughputPerMinute: number }; n: number; load: string }> = [];
      for (let r = 0; r < ROUNDS; r++) {
        const items = await itemsOf(size, `run${r}`);
        const load = loadavg()[0]!.toFixed(1);
        const base = await measure(() => inProcess(items));
        let batch = { id: '', throughputPerMinute: 0 };
        const before = await footprint(redis, dataDir);
        const lane = await measure(() =>
          profiled(`lane-${size}-${r + 1}`, async () => {
            batch = await runCatalog(items.map(line));
          }),
        );
        const after = await footprint(redis, dataDir);
        const perItem = (k: keyof Footprint) => (after[k] - before[k]) / items.length;
        footprints.push(
          `- ${size}, round ${r + 1}, per item: ${perItem('redisCommands').toFixed(0)} Redis commands (the yield governor's checks and the batch status polled every 200 ms included), storage grew by ${perItem('files').toFixed(1)} files and ${perItem('names').toFixed(1)} names (a stable URL rewritten in place adds none)`,
        );
        rounds.push({ base, lane, batch, n: items.length, load });
        process.stderr.write(
          `${size} round ${r + 1}/${ROUNDS}: in-process ${s2(base.wallMs)} s (${s2(base.cpuMs)} s CPU), lane ${s2(lane.wallMs)} s (${s2(lane.cpuMs)} s CPU)\n`,
        );
      }
      const byRatio = [...rounds].sort((a, b) => a.lane.wallMs / a.base.wallMs - b.lane.wallMs / b.base.wallMs);
      const { base, lane, batch, n, load } = byRatio[byRatio.length >> 1]!;
      const perMinCore = (s: Side) => ((n / s.wallMs) * 60_000) / availableParallelism();
      const pct = (x: number) => `${((x - 1) * 100).toFixed(1)}%`;
      const overhead = (a: number, b: number) => pct(a / b);
      const allRounds = (f: (r: (typeof rounds)[number]) => number) => rounds.map((r) => pct(f(r))).join(', ');
      rows.push(
        `| ${size} | ${n} | in-process, ${concurrency} at a time | ${s2(base.wallMs)} | ${s2(base.cpuMs)} | ${cpuSplit(base.cpu)} | ${perMinCore(base).toFixed(0)} | | | ${load} |`,
      );
      rows.push(
        `| ${size} | ${n} | catalog lane, ${concurrency} step children | ${s2(lane.wallMs)} | ${s2(lane.cpuMs)} | ${cpuSplit(lane.cpu)} | ${perMinCore(lane).toFixed(0)} | **${overhead(lane.wallMs, base.wallMs)}** | ${overhead(lane.cpuMs, base.cpuMs)} | ${loadavg()[0]!.toFixed(1)} |`,
      );
      // All rounds pooled (total lane time over total in-process time): steadier than any one
      // round's ratio on a machine whose speed drifts from minute to minute.
      const total = (f: (r: (typeof rounds)[number]) => number) => rounds.reduce((sum, r) => sum + f(r), 0);
      const pooled = (side: 'wallMs' | 'cpuMs') =>
        overhead(
          total((r) => r.lane[side]),
          total((r) => r.base[side]),
        );
      roundLines.push(
        `- ${size}, every round: overhead wall ${allRounds((r) => r.lane.wallMs / r.base.wallMs)}; CPU ${allRounds((r) => r.lane.cpuMs / r.base.cpuMs)}; all rounds pooled: wall ${pooled('wallMs')}, CPU ${pooled('cpuMs')}`,
      );
      breakdowns.push(
        breakdown(
          size,
          itemLines.filter((l) => l.batchId === batch.id),
          lane.wallMs,
          concurrency,
          batch.throughputPerMinute,
        ),
      );
    }
    console.log(
      `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}; one service process (API + every worker), fs storage under ${dataDir} (TMPDIR picks the folder), no CDN invalidator (purge requests are not made).`,
    );
    console.log(
      `Warm-up (not timed below): a ${concurrency}-item catalog on a fresh lane took ${coldMs.toFixed(0)} ms; starting its step children took ${childStarts.map((ms) => `${ms} ms`).join(', ') || 'n/a'} (paid once per worker process, not per item).\n`,
    );
    console.log(
      `The idle service used ${idleCpuPerS.toFixed(0)} ms of CPU per second (counted on both sides: the in-process side runs beside it).\n`,
    );
    console.log(`Each size ran ${ROUNDS} rounds, the sides alternating; the table shows the round with the median wall ratio.\n`);
    console.log(
      '| items | n | side | wall s | CPU s | CPU s: service user + sys \\| children user + sys | items/min/core | overhead, wall | overhead, CPU | load (1 min) |',
    );
    console.log('| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
    for (const r of rows) console.log(r);
    console.log('');
    for (const r of roundLines) console.log(r);
    console.log('');
    for (const f of footprints) console.log(f);
    for (const b of breakdowns) console.log(`\n${b}`);
  } finally {
    redis.disconnect();
    await service.close();
    await deleteKeys(`${prefix}:*`);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Where a catalog item's time went (its laps, as logged), and how busy the step children were. */
function breakdown(size: string, lines: typeof itemLines, wallMs: number, children: number, throughput: number): string {
  const sum = (key: string) => lines.reduce((s, l) => s + (l.timings[key] ?? 0), 0);
  const items = lines.reduce((s, l) => s + l.durationMs, 0);
  const stepsStorage = sum('storageReadMs') + sum('storageWriteMs');
  const publishStorage = sum('publishReadMs') + sum('publishWriteMs') + sum('publishListMs');
  const inChild = sum('stepsMs') - sum('childWaitMs');
  const parts: Array<[string, number]> = [
    ['batch records (Redis: read, mark active)', sum('recordsMs')],
    ['yielding to interactive work (outside the child)', sum('yieldMs')],
    ['prepare (source, admission, run record)', sum('prepareMs')],
    ['waiting for a free child', sum('childWaitMs')],
    ['starting a child', sum('childStartMs')],
    ['steps: storage reads and writes (in the child)', stepsStorage],
    ['steps: decode + encode, IPC', inChild - sum('childStartMs') - stepsStorage],
    ['publish: storage reads, writes, listings', publishStorage],
    ['publish: the rest (run record, markers, manifest, Redis)', sum('publishMs') - publishStorage],
    ['finish (Redis: mark done, events)', sum('finishMs')],
  ];
  const rows = parts.map(([name, ms]) => `| ${name} | ${(ms / lines.length).toFixed(1)} | ${((ms / items) * 100).toFixed(1)}% |`);
  return [
    `Where a ${size} catalog item's time went (${lines.length} items; the batch reported ${throughput} items/min). ` +
      `The step children were busy ${((inChild / (children * wallMs)) * 100).toFixed(0)}% of the run (${children} × ${s2(wallMs)} s); the rest is queueing and idle children.`,
    '',
    '| part of an item | ms per item | share of its time |',
    '| --- | ---: | ---: |',
    ...rows,
  ].join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
