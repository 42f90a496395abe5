/**
 * Responsive-set benchmark: our decode-once pipeline (`decodeSource` + `renderResponsiveSet`)
 * against a naive sharp loop that re-decodes the source for every variant, in the same process,
 * on the same photos. Prints a markdown table per photo and a PASS/MISS line against the targets.
 *
 *   npx tsx bench/responsive-set.ts
 *
 * Env: FIXTURES_DIR (default ../shared/fixtures/large from the repo root), RUNS (timed runs per
 * side, median taken; default 3, at least 2).
 */
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { decodeSource } from '../workers/steps/decode.js';
import { ENCODER_SETTINGS, RENDER_PARALLELISM, renderResponsiveSet } from '../workers/steps/responsive-set.js';
import { DEFAULT_WIDTHS, OUTPUT_FORMATS, type OutputFormat } from '../workers/steps/types.js';
import { ssim, type RawImage } from './ssim.js';
import { median, timeIt } from './timing.js';

/** The targets, fixed in the brief: do not loosen them to make a run pass. */
const TARGET = { speedup: 4, bytesRatio: 1.1, ssimDrop: 0.005 };

/** The baseline's settings, fixed: what someone writing the obvious sharp loop would use. */
const BASELINE = {
  avif: { effort: 4, quality: 50 },
  webp: { quality: 80 },
  jpeg: { quality: 80 },
} as const;

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixturesDir = process.env.FIXTURES_DIR ?? resolve(repoRoot, '../shared/fixtures/large');
const runs = Math.max(2, Math.floor(Number(process.env.RUNS ?? 3)) || 3);
const formats: OutputFormat[] = [...OUTPUT_FORMATS];
const MAX_PIXELS = 100_000_000;

interface Variant {
  format: OutputFormat;
  width: number;
  data: Buffer;
}

async function ours(source: Buffer): Promise<Variant[]> {
  const image = await decodeSource(source, { maxPixels: MAX_PIXELS });
  const set = await renderResponsiveSet(image, { widths: DEFAULT_WIDTHS, formats });
  return set.variants;
}

/** One decode per variant, one variant at a time: the obvious loop. */
async function baseline(source: Buffer): Promise<Variant[]> {
  const out: Variant[] = [];
  for (const width of DEFAULT_WIDTHS) {
    for (const format of formats) {
      const s = sharp(source).rotate().resize({ width });
      const data = await (
        format === 'avif' ? s.avif(BASELINE.avif) : format === 'webp' ? s.webp(BASELINE.webp) : s.jpeg(BASELINE.jpeg)
      ).toBuffer();
      out.push({ format, width, data });
    }
  }
  return out;
}

async function toRaw(input: Buffer | Sharp): Promise<RawImage> {
  const s = Buffer.isBuffer(input) ? sharp(input) : input;
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const key = (v: { format: string; width: number }) => `${v.format}@${v.width}`;
const kb = (n: number) => (n / 1024).toFixed(1);
const signed = (n: number) => (n >= 0 ? '+' : '') + n.toFixed(4);

interface PhotoResult {
  name: string;
  oursMs: number;
  baseMs: number;
  /** CPU time (user + system, every thread), median of the runs: the cost when the cores are shared. */
  oursCpuMs: number;
  baseCpuMs: number;
  oursBytes: number;
  baseBytes: number;
  worstDrop: number;
  worstDropShrinkRef: number;
}

async function benchPhoto(name: string, source: Buffer): Promise<PhotoResult> {
  const oursTimes: number[] = [];
  const baseTimes: number[] = [];
  const oursCpu: number[] = [];
  const baseCpu: number[] = [];
  let oursOut: Variant[] = [];
  let baseOut: Variant[] = [];
  // Alternate the sides so drift (thermal, other load) hits both alike.
  for (let i = 0; i < runs; i++) {
    const b = await timeIt(() => baseline(source));
    baseTimes.push(b.ms);
    baseCpu.push(b.cpuMs);
    baseOut = b.result;
    const o = await timeIt(() => ours(source));
    oursTimes.push(o.ms);
    oursCpu.push(o.cpuMs);
    oursOut = o.result;
  }
  const oursMs = median(oursTimes);
  const baseMs = median(baseTimes);
  const oursBytes = oursOut.reduce((n, v) => n + v.data.length, 0);
  const baseBytes = baseOut.reduce((n, v) => n + v.data.length, 0);

  const meta = await sharp(source).rotate().metadata();
  console.log(`\n### ${name} (${meta.autoOrient.width}×${meta.autoOrient.height}, ${kb(source.length)} KiB)\n`);
  console.log(
    `ours ${(oursMs / 1000).toFixed(2)} s, baseline ${(baseMs / 1000).toFixed(2)} s, ` +
      `speed-up **${(baseMs / oursMs).toFixed(2)}×** (median of ${runs}; ours runs: ${oursTimes.map((t) => (t / 1000).toFixed(2)).join(', ')} s, ` +
      `baseline runs: ${baseTimes.map((t) => (t / 1000).toFixed(2)).join(', ')} s)  `,
  );
  console.log(
    `CPU time (median): ours ${(median(oursCpu) / 1000).toFixed(2)} s, baseline ${(median(baseCpu) / 1000).toFixed(2)} s, CPU-time speed-up **${(median(baseCpu) / median(oursCpu)).toFixed(2)}×**  `,
  );
  console.log(`bytes ours ${kb(oursBytes)} KiB, baseline ${kb(baseBytes)} KiB, ratio **${(oursBytes / baseBytes).toFixed(3)}**\n`);
  console.log('| variant | ours KiB | baseline KiB | bytes ratio | SSIM ours | SSIM baseline | Δ SSIM | Δ SSIM, shrink-on-load ref |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');

  const baseByKey = new Map(baseOut.map((v) => [key(v), v]));
  let worstDrop = -Infinity;
  let worstDropShrinkRef = -Infinity;
  const widths = [...new Set(oursOut.map((v) => v.width))].sort((a, b) => a - b);
  for (const width of widths) {
    // The reference is lanczos3 from every source pixel. sharp's default would first shrink the
    // JPEG by 2/4/8 in the DCT (fastShrinkOnLoad), which is the baseline's own resize path: scoring
    // against that favours the baseline by up to ~0.02 at 320px for reasons unrelated to encoding.
    // Both are printed; the gate uses the exact one.
    const reference = await toRaw(sharp(source).rotate().resize({ width, kernel: 'lanczos3', fastShrinkOnLoad: false }));
    const shrinkRef = await toRaw(sharp(source).rotate().resize({ width, kernel: 'lanczos3' }));
    for (const format of formats) {
      const o = oursOut.find((v) => v.format === format && v.width === width);
      const b = baseByKey.get(key({ format, width }));
      if (!o || !b) throw new Error(`missing ${format}@${width} (ours ${!!o}, baseline ${!!b})`);
      const [oRaw, bRaw] = [await toRaw(o.data), await toRaw(b.data)];
      const so = ssim(reference, oRaw);
      const sb = ssim(reference, bRaw);
      worstDrop = Math.max(worstDrop, sb - so);
      const shrinkDelta = ssim(shrinkRef, oRaw) - ssim(shrinkRef, bRaw);
      worstDropShrinkRef = Math.max(worstDropShrinkRef, -shrinkDelta);
      console.log(
        `| ${format} ${width} | ${kb(o.data.length)} | ${kb(b.data.length)} | ${(o.data.length / b.data.length).toFixed(2)} | ` +
          `${so.toFixed(4)} | ${sb.toFixed(4)} | ${signed(so - sb)} | ${signed(shrinkDelta)} |`,
      );
    }
  }
  return {
    name,
    oursMs,
    baseMs,
    oursCpuMs: median(oursCpu),
    baseCpuMs: median(baseCpu),
    oursBytes,
    baseBytes,
    worstDrop,
    worstDropShrinkRef,
  };
}

async function main() {
  const names = (await readdir(fixturesDir)).filter((f) => /\.jpe?g$/i.test(f)).sort();
  if (names.length === 0) throw new Error(`no JPEGs in ${fixturesDir}`);
  const sources = await Promise.all(names.map(async (n) => [n, await readFile(join(fixturesDir, n))] as const));

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`## Responsive set (bench/responsive-set.ts)\n`);
  console.log(
    `Machine: ${availableParallelism()} cores (${cpu}), Node ${process.version}, sharp ${sharp.versions.sharp}, ` +
      `libvips ${sharp.versions.vips}, aom ${sharp.versions.aom}, sharp.concurrency() = ${sharp.concurrency()}, ` +
      `our parallel encodes = ${RENDER_PARALLELISM}.  `,
  );
  console.log(`Command: \`npx tsx bench/responsive-set.ts\` (RUNS=${runs}, fixtures ${names.join(', ')}).  `);
  console.log(
    `Widths ${DEFAULT_WIDTHS.join(', ')} × formats ${formats.join(', ')} = ${DEFAULT_WIDTHS.length * formats.length} variants per photo.  `,
  );
  console.log(
    `Baseline: per variant \`sharp(src).rotate().resize({ width })\` then \`.avif(${JSON.stringify(BASELINE.avif)})\`, \`.webp(${JSON.stringify(BASELINE.webp)})\`, \`.jpeg(${JSON.stringify(BASELINE.jpeg)})\`, sequential.  `,
  );
  console.log(`Ours: \`ENCODER_SETTINGS\` = \`${JSON.stringify(ENCODER_SETTINGS)}\`.  `);
  console.log(
    `SSIM: luma, 8×8 windows stride 4, against the source resized with sharp lanczos3 from full resolution ` +
      `(\`fastShrinkOnLoad: false\`); the last column scores against sharp's default resize (the baseline's own path) instead. ` +
      `Δ = ours − baseline; the gate is "no Δ below −${TARGET.ssimDrop}".`,
  );

  // Warm-up: loads the codecs and fills libvips' caches so the first timed run is not penalised.
  const [, first] = sources[0]!;
  await ours(first);
  await baseline(first);

  const results: PhotoResult[] = [];
  for (const [name, source] of sources) results.push(await benchPhoto(name, source));

  console.log('\n### Summary\n');
  console.log(
    '| photo | ours s | baseline s | speed-up | ours CPU s | baseline CPU s | CPU-time speed-up | bytes ratio (ours/baseline) | worst SSIM drop vs baseline | same, shrink-on-load ref |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${(r.oursMs / 1000).toFixed(2)} | ${(r.baseMs / 1000).toFixed(2)} | ${(r.baseMs / r.oursMs).toFixed(2)}× | ` +
        `${(r.oursCpuMs / 1000).toFixed(2)} | ${(r.baseCpuMs / 1000).toFixed(2)} | ${(r.baseCpuMs / r.oursCpuMs).toFixed(2)}× | ` +
        `${(r.oursBytes / r.baseBytes).toFixed(3)} | ${r.worstDrop.toFixed(4)} | ${r.worstDropShrinkRef.toFixed(4)} |`,
    );
  }
  const checks = [
    ['speed-up', Math.min(...results.map((r) => r.baseMs / r.oursMs)), `≥ ${TARGET.speedup}×`, (v: number) => v >= TARGET.speedup],
    // Wall time flatters ours on an idle machine (it uses every core, the baseline one): CPU time is what a busy machine pays.
    [
      'CPU-time speed-up',
      Math.min(...results.map((r) => r.baseCpuMs / r.oursCpuMs)),
      `≥ ${TARGET.speedup}×`,
      (v: number) => v >= TARGET.speedup,
    ],
    [
      'bytes ratio',
      Math.max(...results.map((r) => r.oursBytes / r.baseBytes)),
      `≤ ${TARGET.bytesRatio}`,
      (v: number) => v <= TARGET.bytesRatio,
    ],
    ['worst SSIM drop', Math.max(...results.map((r) => r.worstDrop)), `≤ ${TARGET.ssimDrop}`, (v: number) => v <= TARGET.ssimDrop],
  ] as const;
  const lines = checks.map(
    ([label, value, target, ok]) =>
      `${ok(value) ? 'PASS' : 'MISS'} ${label} ${value.toFixed(label === 'worst SSIM drop' ? 4 : 3)} (target ${target}, worst photo)`,
  );
  const pass = checks.every(([, value, , ok]) => ok(value));
  console.log(`\n**${pass ? 'PASS' : 'MISS'}**: ${lines.join('; ')}`);
}

await main();
