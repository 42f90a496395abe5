import { availableParallelism } from 'node:os';
import { AppError } from '../errors.js';
import { DecoderThread } from './decoder-thread.js';
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
 * Decode the primary image of a HEIC file in a worker thread (lib/heic/decoder-thread.ts): the
 * event loop stays free (an API process checks uploads while it serves others), a deadline can
 * stop it, and its WebAssembly memory is returned once the thread has been idle a while.
 *
 * @param pixels `false` decodes without sending the pixels back (an upload check).
 * @throws AppError `IMAGE_TOO_LARGE` (pixels, images, or decode time over the limit),
 *   `CORRUPT_IMAGE`, `UNSUPPORTED_MEDIA_TYPE`: all permanent; `SERVICE_UNAVAILABLE` (503, too
 *   many decodes waiting in this process): retry later.
 * @throws the signal's reason when `signal` is aborted (the thread is stopped).
 */
export async function decodeHeic(
  bytes: Uint8Array,
  limits: HeicLimits,
  options: { pixels: boolean; signal?: AbortSignal },
): Promise<HeicImage> {
  options.signal?.throwIfAborted();
  const request: HeicThreadRequest = { bytes, maxPixels: limits.maxPixels, maxImages: limits.maxImages ?? 1000, pixels: options.pixels };
  const reply = await pool.run(request, limits.timeoutSeconds ?? 0, options.signal);
  if (!reply.ok) throw new AppError(reply.code, reply.message, reply.details);
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

/**
 * One decoder thread per core at most: a 12-megapixel HEIC needs a few hundred MB while it
 * decodes, and a burst of iPhone uploads queues for a thread instead of all decoding at once. The
 * queue is bounded too (each waiting upload holds its bytes): past it, a decode is refused at
 * once with 503, which the API answers with `Retry-After` and a job retries with backoff. The
 * thread used last is handed out first, as it is the one most likely still running.
 */
export class DecoderPool {
  private readonly free: DecoderThread[];
  private readonly waiting: Array<(thread: DecoderThread) => void> = [];

  constructor(
    size: number,
    private readonly maxWaiting: number,
    idleMs: number,
  ) {
    this.free = Array.from({ length: size }, () => new DecoderThread(idleMs));
  }

  async run(request: HeicThreadRequest, timeoutSeconds: number, signal?: AbortSignal): Promise<HeicThreadReply> {
    if (this.free.length === 0 && this.waiting.length >= this.maxWaiting) {
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        `${this.waiting.length} HEIC images are already waiting to be decoded here: retry shortly.`,
        { heicDecodesWaiting: this.waiting.length },
      );
    }
    const thread = this.free.pop() ?? (await new Promise<DecoderThread>((resolve) => this.waiting.push(resolve)));
    try {
      return await thread.run(request, timeoutSeconds, signal);
    } finally {
      const next = this.waiting.shift();
      if (next) next(thread);
      else this.free.push(thread);
    }
  }
}

/** How long an idle decoder thread (and the memory it holds) is kept for the next HEIC. */
const THREAD_IDLE_MS = 10_000;
/** Decodes that may wait for a thread, per thread: about 8 s of waiting for a 9-megapixel photo. */
const WAITING_PER_THREAD = 8;
const threads = availableParallelism();
const pool = new DecoderPool(threads, threads * WAITING_PER_THREAD, THREAD_IDLE_MS);
