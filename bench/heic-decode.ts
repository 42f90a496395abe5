/**
 * HEIC decoding benchmark: our decoder (libheif-js in a worker thread per image, lib/heic/)
 * against the peer, the same libheif-js build called in-process as heic-decode and heic-convert
 * do, on the same files. It also decodes the same pixels as JPEG through our normal path, to show
 * what a HEIC upload costs next to a JPEG one.
 *
 *   npm run bench:heic
 *
 * Runs the built code (`dist/`, as production does; the script builds first): from source, each
 * thread would load the TypeScript loader too. HEIC inputs are encoded from the 3000x3000 JPEGs of
 * ../shared/fixtures/large with `heif-enc` (Debian: libheif-examples); FIXTURES_DIR overrides the
 * folder, RUNS (default 3) the runs per image. Prints markdown with PASS/MISS per target.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { median, timeIt } from './timing.js';

/**
 * Targets: the thread costs little over decoding in-process (a kept thread: the pixels copied out
 * and sent; a new one: also starting it and instantiating libheif, about 0.1 s), and the caller's
 * event loop is blocked for a small share of the time the in-process decode blocks it (what
 * remains is receiving the pixels and collecting garbage).
 */
const TARGET = { overheadSeconds: 0.25, eventLoopBlockedShare: 0.1 };

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixturesDir = process.env.FIXTURES_DIR ?? path.resolve(repoRoot, '../shared/fixtures/large');
const runs = Number(process.env.RUNS ?? 3);
const LIMITS = { maxPixels: 100_000_000 };

type DecodeHeicModule = typeof import('../lib/heic/decode-heic.js');
type DecodeModule = typeof import('../workers/steps/decode.js');
const dist = (file: string) => pathToFileURL(path.join(repoRoot, 'dist', file)).href;
const { decodeHeic } = (await import(dist('lib/heic/decode-heic.js'))) as DecodeHeicModule;
const { decodeSource } = (await import(dist('workers/steps/decode.js'))) as DecodeModule;

/** The peer: libheif-js's own wrapper, in this thread, as heic-decode uses it. */
interface PeerImage {
  get_width(): number;
  get_height(): number;
  display(target: { data: Uint8ClampedArray; width: number; height: number }, done: (result: unknown) => void): void;
}
const libheif = createRequire(import.meta.url)('libheif-js/wasm-bundle') as {
  HeifDecoder: new () => { decode(bytes: Uint8Array): PeerImage[] };
};
async function peerDecode(bytes: Buffer): Promise<Uint8ClampedArray> {
  const [image] = new libheif.HeifDecoder().decode(bytes);
  if (!image) throw new Error('peer found no image');
  const width = image.get_width();
  const height = image.get_height();
  const target = { data: new Uint8ClampedArray(width * height * 4), width, height };
  await new Promise<void>((resolve, reject) =>
    image.display(target, (result) => (result ? resolve() : reject(new Error('peer decode failed')))),
  );
  return target.data;
}

interface Measured {
  ms: number;
  maxLagMs: number;
  result: unknown;
}

/**
 * Median time of `runs` calls of each of two functions, called in turns (a, b, a, b, ...) so that load
 * from elsewhere on the machine falls on both alike, and the longest the event loop was blocked
 * during each one's calls.
 */
async function measureInTurns(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[Measured, Measured]> {
  const fns = [a, b];
  const times: number[][] = fns.map(() => []);
  const maxLags = fns.map(() => 0);
  const results: unknown[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of fns.entries()) {
      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      const run = await timeIt(fn);
      // The sampler records a block when it next runs, after the block: give it that turn.
      await new Promise((resolve) => setTimeout(resolve, 20));
      lag.disable();
      times[k]!.push(run.ms);
      maxLags[k] = Math.max(maxLags[k]!, lag.max / 1e6);
      results[k] = run.result;
    }
  }
  const measured = (k: number): Measured => ({ ms: median(times[k]!), maxLagMs: maxLags[k]!, result: results[k] });
  return [measured(0), measured(1)];
}

function sameRgb(ours: Buffer, peer: Uint8ClampedArray): boolean {
  if (ours.length !== peer.length) return false;
  for (let i = 0; i < ours.length; i++) if (ours[i] !== peer[i]) return false;
  return true;
}

const work = mkdtempSync(path.join(tmpdir(), 'bench-heic-'));
try {
  const files = (await readdir(fixturesDir)).filter((f) => /\.jpe?g$/i.test(f)).sort();
  if (files.length === 0) throw new Error(`no JPEG in ${fixturesDir}`);
  console.log(`## HEIC decoding (bench/heic-decode.ts)\n`);
  console.log(`${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, median of ${runs} runs.`);
  console.log('HEIC inputs: heif-enc quality 70 from the JPEGs (quality 92, 4:4:4).\n');
  console.log(
    '| image | HEIC KiB | ours (thread) s | peer (in-process) s | ours / peer | overhead s | event loop blocked: ours / peer ms | same pixels | HEIC / JPEG through decodeSource |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const overheads: number[] = [];
  const lagShares: number[] = [];
  for (const file of files) {
    const jpegPath = path.join(fixturesDir, file);
    const heicPath = path.join(work, `${path.parse(file).name}.heic`);
    try {
      execFileSync('heif-enc', ['-q', '70', '-o', heicPath, jpegPath], { stdio: 'ignore' });
    } catch {
      throw new Error('heif-enc is needed to make the HEIC inputs: apt-get install libheif-examples');
    }
    const heic = await readFile(heicPath);
    const jpeg = await readFile(jpegPath);
    await decodeHeic(heic, LIMITS, { pixels: true }); // warm the file cache and the thread code
    const [ours, peer] = await measureInTurns(
      () => decodeHeic(heic, LIMITS, { pixels: true }),
      () => peerDecode(heic),
    );
    const [viaHeic, viaJpeg] = await measureInTurns(
      () => decodeSource(heic, LIMITS),
      () => decodeSource(jpeg, LIMITS),
    );
    const same = sameRgb((ours.result as { rgba: Buffer }).rgba, peer.result as Uint8ClampedArray);
    overheads.push((ours.ms - peer.ms) / 1000);
    lagShares.push(ours.maxLagMs / peer.maxLagMs);
    console.log(
      `| ${file} | ${(heic.length / 1024).toFixed(0)} | ${(ours.ms / 1000).toFixed(2)} | ${(peer.ms / 1000).toFixed(2)} | ${(ours.ms / peer.ms).toFixed(2)} | ${((ours.ms - peer.ms) / 1000).toFixed(2)} | ${ours.maxLagMs.toFixed(0)} / ${peer.maxLagMs.toFixed(0)} | ${same ? 'yes' : '**no**'} | ${(viaHeic.ms / viaJpeg.ms).toFixed(2)}× |`,
    );
  }
  const worstOverhead = Math.max(...overheads);
  const worstLagShare = Math.max(...lagShares);
  console.log(
    `\n- Thread overhead, worst: ${worstOverhead.toFixed(2)} s (target ≤ ${TARGET.overheadSeconds}): ${worstOverhead <= TARGET.overheadSeconds ? '**PASS**' : '**MISS**'}`,
  );
  console.log(
    `- Longest event-loop block, ours / peer, worst: ${worstLagShare.toFixed(3)} (target ≤ ${TARGET.eventLoopBlockedShare}): ${worstLagShare <= TARGET.eventLoopBlockedShare ? '**PASS**' : '**MISS**'}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
