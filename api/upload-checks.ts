import { AppError } from '../lib/errors.js';

/** Bounds on the decodes that check uploads (and URL, inbox and catalog originals) in one process. */
export interface UploadCheckLimits {
  /** Checks decoding at once. Below libuv's 4 threads, so file and DNS work of other requests still runs. */
  concurrency: number;
  /** Memory all running checks may hold, by their estimate from the header; also the most one check may need. */
  memoryBytes: number;
  /** Checks that may wait for a slot; past it an upload is refused at once with 503. */
  maxWaiting: number;
}

export const DEFAULT_UPLOAD_CHECK_LIMITS: UploadCheckLimits = { concurrency: 2, memoryBytes: 1024 * 1024 * 1024, maxWaiting: 32 };

/** What /readyz reports. */
export interface UploadCheckLoad {
  running: number;
  waiting: number;
  reservedBytes: number;
  /** The next check would be refused with 503: the process cannot take another upload now. */
  saturated: boolean;
  /** The next check would start at once: a slot is free and none waits. */
  idle: boolean;
}

interface Waiter {
  bytes: number;
  admit: () => void;
}

/**
 * The upload checks' own pool. Each check reserves the memory its decode needs (estimated from
 * the header, see `api/inspect-image.ts`) and one of a few slots before libvips starts: a burst of
 * large uploads then waits its turn in the temp folder, where it costs disk, instead of decoding
 * all at once (twelve 100 MP PNGs took one API process to 4.2 GB and every other request to 12–24 s).
 * Waiters are admitted first come, first served, so a large check is not starved by small ones.
 */
export class UploadCheckPool {
  private running = 0;
  private reservedBytes = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private limits: UploadCheckLimits = DEFAULT_UPLOAD_CHECK_LIMITS) {}

  /** New limits for later checks (the API applies its configuration when it starts). */
  configure(limits: UploadCheckLimits): void {
    this.limits = limits;
    this.admitWaiters();
  }

  /**
   * Run `work` once `bytes` of the budget and a slot are free.
   *
   * @throws AppError 422 `IMAGE_TOO_LARGE` when `bytes` alone exceed the budget (it could never
   *   run); 503 `SERVICE_UNAVAILABLE` when `maxWaiting` checks already wait (retry later).
   */
  async run<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    const { memoryBytes, maxWaiting } = this.limits;
    if (bytes > memoryBytes) {
      const mib = (n: number) => Math.ceil(n / 1024 / 1024);
      throw new AppError(
        'IMAGE_TOO_LARGE',
        `Decoding this image would take about ${mib(bytes)} MiB of memory; the limit is ${mib(memoryBytes)} MiB (UPLOAD_CHECK_MEMORY_MB).`,
        {
          decodeBytes: bytes,
          maxDecodeBytes: memoryBytes,
        },
      );
    }
    if (this.waiters.length > 0 || !this.fits(bytes)) {
      if (this.waiters.length >= maxWaiting) {
        throw new AppError('SERVICE_UNAVAILABLE', `${this.waiters.length} images are already waiting to be checked here: retry shortly.`, {
          uploadChecksWaiting: this.waiters.length,
        });
      }
      await new Promise<void>((admit) => this.waiters.push({ bytes, admit }));
    } else {
      this.take(bytes);
    }
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.reservedBytes -= bytes;
      this.admitWaiters();
    }
  }

  load(): UploadCheckLoad {
    const waiting = this.waiters.length;
    return {
      running: this.running,
      waiting,
      reservedBytes: this.reservedBytes,
      saturated: waiting >= this.limits.maxWaiting && (waiting > 0 || this.running >= this.limits.concurrency),
      idle: waiting === 0 && this.running < this.limits.concurrency,
    };
  }

  private fits(bytes: number): boolean {
    return this.running < this.limits.concurrency && this.reservedBytes + bytes <= this.limits.memoryBytes;
  }

  private take(bytes: number): void {
    this.running += 1;
    this.reservedBytes += bytes;
  }

  /** In order: the first waiter that does not fit blocks those behind it. */
  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const next = this.waiters.shift()!;
      this.take(next.bytes);
      next.admit();
    }
  }
}

/**
 * One pool per process: memory is a process's, and the API's uploads, URL ingest, the bucket inbox
 * and catalog originals checked in the same process all draw on it.
 */
export const uploadChecks = new UploadCheckPool();
