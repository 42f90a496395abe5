/**
 * Where a cold on-demand request's time goes (the 1000 px WebP from 3000² of bench/on-demand-vs-ipx.ts),
 * without HTTP or a second process: the endpoint's renderer in process over disk storage against
 * the bare sharp pipeline ipx runs, with the renderer's storage calls timed; then what libwebp's
 * effort buys (time, bytes, SSIM), since the encode is most of it. Prints markdown.
 *
 *   npx tsx bench/on-demand-cold.ts
 *
 * Env: ON_DEMAND_COLD_RUNS (renders per image; default 3).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { OnDemandRenderer } from '../api/on-demand/renderer.js';
import { parseImgixParams } from '../cdn/imgix-params.js';
import { fsStorage } from '../cdn/fs-storage.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { uniqueJpeg } from './load-photos.js';
import { ssim, type RawImage } from './ssim.js';
import { mean, median, timeIt } from './timing.js';

const NAMES = ['d02_mug_woodtable.jpg', 'd06_cereal_checker.jpg', 'd10_dumbbell_granite.jpg'];
const EFFORTS = [4, 3, 2, 1];
const runs = Math.max(1, Number(process.env.ON_DEMAND_COLD_RUNS ?? 3) || 3);
const dir = resolve(fileURLToPath(new URL('..', import.meta.url)), '../shared/fixtures/large');
const sources = NAMES.map((n) => readFileSync(join(dir, n)));
const bare = (src: Buffer, effort = 4) => sharp(src).resize(1000).webp({ quality: 80, effort, smartSubsample: false }).toBuffer();

/** Storage whose get, getStream and put are timed (ms, summed per method). */
function timed(inner: ObjectStorage, spent: Record<string, number>): ObjectStorage {
  return new Proxy(inner, {
    get(target, prop: string) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function' || !(prop in spent)) return value;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          spent[prop]! += performance.now() - t0;
        }
      };
    },
  });
}

async function split(): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), 'on-demand-cold-'));
  const spent: Record<string, number> = { get: 0, getStream: 0, put: 0 };
  const inner = fsStorage({ root });
  const renderer = new OnDemandRenderer(
    timed(inner, spent),
    { maxInputPixels: 100_000_000, maxOutputPixels: 100_000_000, timeoutSeconds: 60 },
    { concurrency: 2, memoryBytes: 1536 * 2 ** 20, maxWaiting: 32 },
  );
  const params = parseImgixParams(new URLSearchParams('w=1000&fm=webp'), { widths: [1000], maxOutputPixels: 100_000_000 });
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursCpu: number[] = [];
  const theirsCpu: number[] = [];
  try {
    for (let i = 0; i < runs * sources.length; i++) {
      // A new source each time (a JPEG comment): every render is a cold one.
      const src = uniqueJpeg(sources[i % sources.length]!, `cold ${i}`);
      const source = {
        key: `t/tn_bench/assets/ast_${i}/original.jpg`,
        version: String(i).padStart(64, '0'),
        owner: { assetId: `ast_${i}` },
      };
      await inner.put(source.key, src, { contentType: 'image/jpeg' });
      const { key } = renderer.locate(source, 'tn_bench', params, 'image/webp');
      // The store behind the answer is counted in CPU (flush), not in the answer's time.
      const answered = performance.now();
      const o = await timeIt(async () => {
        await renderer.render(key, source, params, 'image/webp', []);
        ours.push(performance.now() - answered);
        await renderer.flush();
      });
      oursCpu.push(o.cpuMs);
      const b = await timeIt(() => bare(src));
      theirs.push(b.ms);
      theirsCpu.push(b.cpuMs);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const n = ours.length;
  return [
    `Renderer in process, per cold 1000 px WebP (mean of ${n}): ${mean(ours).toFixed(0)} ms wall, ${mean(oursCpu).toFixed(0)} ms CPU; ` +
      `bare sharp (ipx's pipeline): ${mean(theirs).toFixed(0)} ms wall, ${mean(theirsCpu).toFixed(0)} ms CPU ` +
      `(${(mean(ours) / mean(theirs)).toFixed(2)}× wall, ${(mean(oursCpu) / mean(theirsCpu)).toFixed(2)}× CPU). Storage per render: original read ${(spent.get! / n).toFixed(1)} ms, cache lookup ` +
      `${(spent.getStream! / n).toFixed(1)} ms, store ${(spent.put! / n).toFixed(1)} ms (behind the answer).`,
  ];
}

async function toRaw(input: Buffer | Sharp): Promise<RawImage> {
  const { data, info } = await (Buffer.isBuffer(input) ? sharp(input) : input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function efforts(): Promise<string[]> {
  const times = new Map<number, number[]>(EFFORTS.map((e) => [e, []]));
  const cpu = new Map<number, number[]>(EFFORTS.map((e) => [e, []]));
  const cells = new Map<number, string[]>(EFFORTS.map((e) => [e, []]));
  for (const [i, src] of sources.entries()) {
    const ref = await toRaw(sharp(src).resize(1000, 1000, { kernel: 'lanczos3', fastShrinkOnLoad: false }));
    const out = new Map<number, Buffer>();
    // Efforts interleaved per round, so load on the machine falls on all of them alike.
    for (let r = 0; r < runs; r++) {
      for (const e of EFFORTS) {
        const t = await timeIt(() => bare(src, e));
        out.set(e, t.result);
        times.get(e)!.push(t.ms);
        cpu.get(e)!.push(t.cpuMs);
      }
    }
    const base = out.get(4)!;
    const baseSsim = ssim(ref, await toRaw(base));
    for (const e of EFFORTS) {
      const delta = ssim(ref, await toRaw(out.get(e)!)) - baseSsim;
      cells
        .get(e)!
        .push(
          `${NAMES[i]!.slice(0, 3)} ${(out.get(e)!.length / base.length).toFixed(3)}× / ${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(4)}`,
        );
    }
  }
  const c4 = median(cpu.get(4)!);
  return [
    '| WebP effort | decode+resize+encode: CPU median (× effort 4) | wall median | bytes × / SSIM Δ against effort 4 |',
    '| --- | --- | --- | --- |',
    ...EFFORTS.map(
      (e) =>
        `| ${e} | ${median(cpu.get(e)!).toFixed(0)} ms (${(median(cpu.get(e)!) / c4).toFixed(2)}×) | ${median(times.get(e)!).toFixed(0)} ms | ${cells.get(e)!.join('; ')} |`,
    ),
  ];
}

console.log([...(await split()), '', ...(await efforts())].join('\n'));
