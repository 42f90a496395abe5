/**
 * Upscaling quality benchmark: what each ×4 method makes of product photos as suppliers send them.
 * Extends bench/upscale.ts (ESRGAN against its TensorFlow.js peer) with the Real-ESRGAN models and
 * their own peer, `upscayl-bin` (ncnn on Vulkan; Mesa's llvmpipe on a machine without a GPU).
 *
 *   npx tsx bench/upscale-realesrgan.ts
 *
 * Set: each fixture photo fitted into SIZE² (cropped to a multiple of 4) is the original; the input
 * is it shrunk ×4 with lanczos3, slightly blurred (σ 0.5) and saved as JPEG at quality 70, 75 or 80.
 * Methods: sharp lanczos3, our step with esrgan-medium-x4, realesrgan-x4fast and realesrgan-x4plus,
 * and upscayl-bin with realesrgan-x4fast. Figures: PSNR and SSIM (luma) against the original, a
 * sharpness figure (mean squared luma gradient relative to the original's: 1 is as crisp as the
 * original, lanczos3's blur is well below), wall and CPU time; PSNR between our x4fast and
 * upscayl-bin's; peak RSS of a ×4 of 1000² with x4fast in a fresh process, and of upscayl-bin
 * (GNU time). Writes a side-by-side crop sheet (SHEET, default docs/upscale-sheet.jpg).
 *
 * Env: FIXTURES_DIR (default ../shared/fixtures/photos), PHOTOS (how many, default 4), SIZE
 * (default 384), X4PLUS (0 leaves x4plus out; ~17× x4fast's time).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import { createLogger } from '../lib/logger.js';
import { loadModelsConfig } from '../models/config.js';
import { psnrVsUpscayl, upscaylBin } from '../models/ncnn-to-onnx/testing/upscayl-bin.js';
import { getSession, ort } from '../models/session.js';
import type { DecodedImage } from '../workers/steps/types.js';
import { upscale } from '../workers/steps/upscale.js';
import { pickUpscaleModel, upscaleOptionsSchema, type UpscaleModelName } from '../workers/steps/upscale-options.js';
import { ssim } from './ssim.js';
import { timeIt } from './timing.js';

/** The targets, fixed in issue 16: do not loosen them to make a run pass. */
const TARGET = { psnrVsPeer: 40, speedupVsPeer: 3, maxPsnrLossVsLanczos: 0.5, peakRssBytes: 2 * 1024 ** 3 };

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixturesDir = process.env.FIXTURES_DIR ?? path.resolve(repoRoot, '../shared/fixtures/photos');
const photoCount = Number(process.env.PHOTOS ?? 4);
const size = Number(process.env.SIZE ?? 384);
const withX4plus = process.env.X4PLUS !== '0';
const sheetPath = path.resolve(repoRoot, process.env.SHEET ?? 'docs/upscale-sheet.jpg');
const config = loadModelsConfig(process.env);
const logger = createLogger('warn');

type Rgb = DecodedImage;
interface Result {
  rgb: Uint8Array;
  ms: number;
  cpuMs: number;
  peakRssBytes?: number;
}
interface Method {
  name: string;
  run(lr: Rgb, jpeg: Buffer): Promise<Result>;
}

const raw = (img: { width: number; height: number }) => ({ raw: { width: img.width, height: img.height, channels: 3 as const } });
async function rgbOf(s: Sharp): Promise<Rgb> {
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3, hasAlpha: false };
}
const psnr = (a: Uint8Array, b: Uint8Array) => {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
};
/** Mean squared luma gradient (forward differences). */
function gradientEnergy(rgb: Uint8Array, width: number, height: number): number {
  const y = (i: number) => 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  let sum = 0;
  for (let r = 0; r < height - 1; r++)
    for (let c = 0; c < width - 1; c++)
      sum += (y(r * width + c + 1) - y(r * width + c)) ** 2 + (y((r + 1) * width + c) - y(r * width + c)) ** 2;
  return sum / ((width - 1) * (height - 1));
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sec = (ms: number) => (ms / 1000).toFixed(2);
const pass = (ok: boolean) => (ok ? '**PASS**' : '**MISS**');

/** One photo of the set: the original and its supplier-grade ×4-smaller input. */
async function degrade(source: Buffer, index: number) {
  const fitted = await rgbOf(sharp(source).resize({ width: size, height: size, fit: 'inside', kernel: 'lanczos3' }));
  const [w, h] = [fitted.width - (fitted.width % 4), fitted.height - (fitted.height % 4)];
  const original = await rgbOf(sharp(fitted.data, raw(fitted)).extract({ left: 0, top: 0, width: w, height: h }));
  const quality = [70, 75, 80][index % 3]!;
  const jpeg = await sharp(original.data, raw(original))
    .resize(w / 4, h / 4, { kernel: 'lanczos3' })
    .blur(0.5)
    .jpeg({ quality })
    .toBuffer();
  return { original, jpeg, quality, lr: await rgbOf(sharp(jpeg)) };
}

async function ourMethod(model: UpscaleModelName): Promise<Method> {
  const session = await getSession(pickUpscaleModel(4, model), config, logger);
  const options = upscaleOptionsSchema.parse({ factor: 4, model });
  await upscale({ data: Buffer.alloc(32 * 32 * 3), width: 32, height: 32, channels: 3, hasAlpha: false }, session, options); // warm-up
  return {
    name: `ours ${session.spec.name}`,
    run: async (lr) => {
      const t = await timeIt(() => upscale(lr, session, options));
      return { rgb: t.result.data, ms: t.ms, cpuMs: t.cpuMs };
    },
  };
}

/** Child process: one default ×4 of a 1000² photo with x4fast; prints peak RSS (VmHWM). */
async function rssChild(): Promise<void> {
  const names = (await readdir(fixturesDir)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const image = await rgbOf(sharp(await readFile(path.join(fixturesDir, names[0]!))).resize(1000, 1000, { fit: 'fill' }));
  const session = await getSession(pickUpscaleModel(4, 'realesrgan-x4fast'), config, logger);
  const run = await timeIt(() => upscale(image, session, upscaleOptionsSchema.parse({ factor: 4 })));
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  console.log(
    JSON.stringify({ maxRssBytes: Number(kb) * 1024, ms: run.ms, cpuMs: run.cpuMs, out: `${run.result.width}x${run.result.height}` }),
  );
}

async function main(): Promise<void> {
  const names = (await readdir(fixturesDir))
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .slice(0, photoCount);
  const set = await Promise.all(names.map(async (n, i) => ({ name: n, ...(await degrade(await readFile(path.join(fixturesDir, n)), i)) })));
  const peer = await upscaylBin(config);
  let peerDevice = 'unknown';
  const methods: Method[] = [
    {
      name: 'lanczos3',
      run: async (lr) => {
        const t = await timeIt(() =>
          sharp(lr.data, raw(lr))
            .resize(lr.width * 4, lr.height * 4, { kernel: 'lanczos3' })
            .raw()
            .toBuffer(),
        );
        return { rgb: t.result, ms: t.ms, cpuMs: t.cpuMs };
      },
    },
    await ourMethod('medium'),
    await ourMethod('realesrgan-x4fast'),
    ...(withX4plus ? [await ourMethod('realesrgan-x4plus')] : []),
    {
      name: 'upscayl-bin realesrgan-x4fast',
      run: async (_lr, jpeg) => {
        const r = await peer.upscale(await sharp(jpeg).png().toBuffer(), 'realesrgan-x4fast');
        peerDevice = r.device;
        return { rgb: r.rgb, ms: r.ms, cpuMs: r.cpuMs ?? NaN, peakRssBytes: r.peakRssBytes };
      },
    },
  ];

  const rows = new Map<string, { psnr: number[]; ssim: number[]; sharp: number[]; ms: number[]; cpuMs: number[] }>();
  const outputs = new Map<string, Result[]>();
  for (const m of methods) {
    const r = { psnr: [] as number[], ssim: [] as number[], sharp: [] as number[], ms: [] as number[], cpuMs: [] as number[] };
    const outs: Result[] = [];
    for (const photo of set) {
      const out = await m.run(photo.lr, photo.jpeg);
      const { original } = photo;
      r.psnr.push(psnr(out.rgb, original.data));
      r.ssim.push(
        ssim(
          { data: out.rgb, width: original.width, height: original.height, channels: 3 },
          { data: original.data, width: original.width, height: original.height, channels: 3 },
        ),
      );
      r.sharp.push(
        gradientEnergy(out.rgb, original.width, original.height) / gradientEnergy(original.data, original.width, original.height),
      );
      r.ms.push(out.ms);
      r.cpuMs.push(out.cpuMs);
      outs.push(out);
    }
    rows.set(m.name, r);
    outputs.set(m.name, outs);
  }

  console.log(`## Real-ESRGAN upscaling (bench/upscale-realesrgan.ts)\n`);
  console.log(
    `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), shared; Node ${process.version}, onnxruntime-node ${ort.env.versions.common}, sharp ${sharp.versions.sharp}; upscayl-bin on ${peerDevice}.  `,
  );
  console.log(
    `Command: \`npx tsx bench/upscale-realesrgan.ts\` (PHOTOS=${photoCount}, SIZE=${size}; ${names.join(', ')} from ${path.relative(repoRoot, fixturesDir)}). Inputs ${set.map((p) => `${p.lr.width}×${p.lr.height} q${p.quality}`).join(', ')}; ×4 back to the original's size; our step with its defaults (tile 256, overlap 16), after a warm-up; one run each.\n`,
  );
  console.log('| method | PSNR dB | SSIM | sharpness (original = 1) | wall s | CPU s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, r] of rows)
    console.log(
      `| ${name} | ${mean(r.psnr).toFixed(2)} | ${mean(r.ssim).toFixed(4)} | ${mean(r.sharp).toFixed(2)} | ${sec(r.ms.reduce((a, b) => a + b))} | ${sec(r.cpuMs.reduce((a, b) => a + b))} |`,
    );

  const ours = outputs.get('ours realesrgan-x4fast')!;
  const theirs = outputs.get('upscayl-bin realesrgan-x4fast')!;
  // Our step pads each tile as upscayl-bin does (the spec's prepadding), so the whole image is compared.
  // upscayl-bin on llvmpipe writes 255 where its shader means 0 (see psnrVsUpscayl): restored, and counted.
  const peerDiffs = ours.map((o, i) => psnrVsUpscayl(o.rgb, theirs[i]!.rgb));
  const vsPeer = peerDiffs.map((d) => d.psnr);
  const [oursRow, peerRow, lanczosRow] = ['ours realesrgan-x4fast', 'upscayl-bin realesrgan-x4fast', 'lanczos3'].map((n) => rows.get(n)!);
  const speedup = peerRow!.ms.reduce((a, b) => a + b) / oursRow!.ms.reduce((a, b) => a + b);
  const cpuSpeedup = peerRow!.cpuMs.reduce((a, b) => a + b) / oursRow!.cpuMs.reduce((a, b) => a + b);
  console.log(
    `\nPSNR ours x4fast vs upscayl-bin x4fast, per photo, every pixel, with the values upscayl-bin wrote as 255 for a 0 (negative results on llvmpipe) restored: ${peerDiffs.map((d) => `${d.psnr.toFixed(2)} dB (${(d.negative * 100).toFixed(2)}% restored; ${d.psnrMasked.toFixed(2)} dB leaving them out, ${d.psnrRaw.toFixed(2)} dB as written)`).join(', ')}.  `,
  );

  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--rss-child'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: process.env,
  });
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !line.startsWith('{')) throw new Error(`RSS child failed: ${child.stderr}`);
  const rss = JSON.parse(line) as { maxRssBytes: number; ms: number; cpuMs: number; out: string };
  const peerRss = Math.max(...theirs.map((t) => t.peakRssBytes ?? NaN));
  console.log(
    `Peak RSS: ours x4fast ×4 of 1000² → ${rss.out} (fresh process, VmHWM) **${(rss.maxRssBytes / 1024 ** 2).toFixed(0)} MiB** in ${sec(rss.ms)} s (CPU ${sec(rss.cpuMs)} s); upscayl-bin on the set's inputs at most ${(peerRss / 1024 ** 2).toFixed(0)} MiB (GNU time).\n`,
  );

  const loss = mean(lanczosRow!.psnr) - mean(oursRow!.psnr);
  console.log('Targets:  ');
  const worstRaw = Math.min(...peerDiffs.map((d) => d.psnrRaw));
  console.log(
    `- PSNR ours x4fast vs upscayl-bin ≥ ${TARGET.psnrVsPeer} dB (worst photo, every pixel): ${Math.min(...vsPeer).toFixed(2)} dB with upscayl-bin's 255-for-0 values restored ${pass(Math.min(...vsPeer) >= TARGET.psnrVsPeer)}; ${worstRaw.toFixed(2)} dB against its bytes as written (its llvmpipe defect)  `,
  );
  console.log(
    `- ours x4fast ≥ ${TARGET.speedupVsPeer}× faster than upscayl-bin (wall, total): ${speedup.toFixed(1)}× (CPU time: ${cpuSpeedup.toFixed(1)}×) ${pass(speedup >= TARGET.speedupVsPeer)}  `,
  );
  console.log(
    `- x4fast sharper than lanczos3: ${mean(oursRow!.sharp).toFixed(2)} vs ${mean(lanczosRow!.sharp).toFixed(2)} ${pass(mean(oursRow!.sharp) > mean(lanczosRow!.sharp))}, losing at most ${TARGET.maxPsnrLossVsLanczos} dB PSNR: ${loss >= 0 ? `loses ${loss.toFixed(2)}` : `gains ${(-loss).toFixed(2)}`} dB ${pass(loss <= TARGET.maxPsnrLossVsLanczos)}  `,
  );
  console.log(
    `- ×4 of 1000² under 2 GiB peak RSS: ${(rss.maxRssBytes / 1024 ** 2).toFixed(0)} MiB ${pass(rss.maxRssBytes < TARGET.peakRssBytes)}`,
  );

  await writeSheet(set.slice(0, 2), [...outputs.entries()]);
  console.log(`\nSheet: ${path.relative(repoRoot, sheetPath)}`);
}

/** One row per photo: a 128² crop from its middle (shown at 2×, nearest) of the original and of each method's output. */
async function writeSheet(photos: Array<{ name: string; original: Rgb }>, outputs: Array<[string, Result[]]>): Promise<void> {
  const crop = 128;
  const cell = crop * 2;
  const labelH = 28;
  const columns: Array<[string, (i: number) => Uint8Array]> = [
    ['original', (i) => photos[i]!.original.data],
    ...outputs.map(([n, r]) => [n.replace(/^ours /, ''), (i: number) => r[i]!.rgb] as [string, (i: number) => Uint8Array]),
  ];
  const layers: OverlayOptions[] = [];
  for (const [c, [label]] of columns.entries()) {
    const svg = `<svg width="${cell}" height="${labelH}" xmlns="http://www.w3.org/2000/svg"><text x="${cell / 2}" y="19" font-family="sans-serif" font-size="14" text-anchor="middle" fill="#222">${label}</text></svg>`;
    layers.push({ input: Buffer.from(svg), left: c * cell, top: 0 });
  }
  for (const [r, photo] of photos.entries()) {
    const { width, height } = photo.original;
    const left = Math.max(0, Math.floor(width / 2 - crop / 2));
    const top = Math.max(0, Math.floor(height / 2 - crop / 2));
    for (const [c, [, pixels]] of columns.entries()) {
      const tile = await sharp(pixels(r), raw(photo.original))
        .extract({ left, top, width: Math.min(crop, width), height: Math.min(crop, height) })
        .resize(cell, cell, { kernel: 'nearest', fit: 'fill' })
        .png()
        .toBuffer();
      layers.push({ input: tile, left: c * cell, top: labelH + r * cell });
    }
  }
  await sharp({ create: { width: columns.length * cell, height: labelH + photos.length * cell, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .jpeg({ quality: 92, chromaSubsampling: '4:4:4' })
    .toFile(sheetPath);
}

await (process.argv.includes('--rss-child') ? rssChild() : main());
