import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, badInput } from '../errors.js';
import type { HeicThreadReply, HeicThreadRequest } from './heic-protocol.js';

export interface HeicLimits {
  /** Largest `width * height` of the primary image, checked from the header before decoding. */
  maxPixels: number;
  /** Most top-level images the file may hold (default 1000, the frame limit's default). */
  maxImages?: number;
  /** Seconds the decode may take (0 or absent: no limit); the thread is terminated after it. */
  timeoutSeconds?: number;
}

export interface HeicImage {
  width: number;
  height: number;
  hasAlpha: boolean;
  /** Top-level images in the file; the primary one is the one decoded. */
  images: number;
  /** The embedded ICC profile, for the caller to convert from (libheif has no colour management). */
  icc?: Buffer;
  /** 8-bit interleaved RGBA, when `pixels` was asked for. */
  rgba?: Buffer;
}

/**
 * Decode the primary image of a HEIC file in a worker thread: the event loop stays free (an API
 * process checks uploads while it serves others), a deadline can stop it, and its WebAssembly
 * memory is returned when the thread ends.
 *
 * @param pixels `false` decodes without sending the pixels back (an upload check).
 * @throws AppError `IMAGE_TOO_LARGE` (pixels, images, or decode time over the limit),
 *   `CORRUPT_IMAGE`, `UNSUPPORTED_MEDIA_TYPE`; all permanent.
 * @throws the signal's reason when `signal` is aborted (the thread is stopped).
 */
export async function decodeHeic(bytes: Uint8Array, limits: HeicLimits, options: { pixels: boolean; signal?: AbortSignal }): Promise<HeicImage> {
  options.signal?.throwIfAborted();
  const request: HeicThreadRequest = { bytes, maxPixels: limits.maxPixels, maxImages: limits.maxImages ?? 1000, pixels: options.pixels };
  const reply = await decodeSlots.run(() => runThread(request, limits.timeoutSeconds ?? 0, options.signal));
  if (!reply.ok) throw badInput(reply.code, reply.message, reply.details);
  return {
    width: reply.width,
    height: reply.height,
    hasAlpha: reply.hasAlpha,
    images: reply.images,
    ...(reply.icc ? { icc: asBuffer(reply.icc) } : {}),
    ...(reply.rgba ? { rgba: asBuffer(reply.rgba) } : {}),
  };
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function runThread(request: HeicThreadRequest, timeoutSeconds: number, signal?: AbortSignal): Promise<HeicThreadReply> {
  return new Promise((resolve, reject) => {
    const thread = startThread(request);
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void thread.terminate();
      outcome();
    };
    const timer = timeoutSeconds > 0
      ? setTimeout(() => finish(() => reject(badInput('IMAGE_TOO_LARGE', `The image takes longer than ${timeoutSeconds} s to decode.`, { decodeTimeoutSeconds: timeoutSeconds }))), timeoutSeconds * 1000)
      : undefined;
    const onAbort = () => finish(() => reject(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    thread.once('message', (reply: HeicThreadReply) => finish(() => resolve(reply)));
    // The decoder failed to load or crashed outside libheif: ours to fix, so retryable (500).
    thread.once('error', (err) => finish(() => reject(new AppError(500, 'INTERNAL', `HEIC decoder failed: ${err.message}`))));
    thread.once('exit', (code) => finish(() => reject(new AppError(500, 'INTERNAL', `HEIC decoder exited with code ${code} before answering`))));
  });
}

const HERE = fileURLToPath(import.meta.url);

function startThread(request: HeicThreadRequest): Worker {
  const entry = pathToFileURL(path.join(path.dirname(HERE), `heic-thread${path.extname(HERE)}`));
  if (path.extname(HERE) !== '.ts') return new Worker(entry, { workerData: request });
  // Run from source (tsx, vitest): a worker thread takes no `--import tsx`, so it registers tsx's
  // loader itself before importing its entry.
  const boot = `import(${JSON.stringify(tsxRegisterUrl())}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: request });
}

/** tsx's ESM `register` module, read from its package's exports (its `require` variant cannot register). */
function tsxRegisterUrl(): string {
  const manifestPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifestPath), manifest.exports['./esm/api']!.import.default)).href;
}

/**
 * At most one decode per core in a process: a 12-megapixel HEIC needs a few hundred MB while it
 * decodes, and a burst of iPhone uploads must queue for a core instead of all decoding at once.
 */
class Slots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.size) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed a slot on release
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const decodeSlots = new Slots(availableParallelism());
