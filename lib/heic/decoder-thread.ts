import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError } from '../errors.js';
import type { HeicThreadInit, HeicThreadReply, HeicThreadRequest } from './heic-protocol.js';
import { compileLibHeif } from './libheif-wasm.js';

/**
 * One worker thread running libheif (lib/heic/heic-thread.ts), one decode at a time. It starts on
 * first use and stays for `idleMs` after its last answer, so a burst of photos pays for starting
 * it once; then it ends and its WebAssembly memory (which never shrinks) goes back to the system.
 * A decode past its deadline, or aborted, ends the thread: WebAssembly cannot be interrupted
 * otherwise. The next decode starts a new one.
 */
export class DecoderThread {
  private worker: Worker | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs: number) {}

  async run(request: HeicThreadRequest, timeoutSeconds: number, signal?: AbortSignal): Promise<HeicThreadReply> {
    signal?.throwIfAborted();
    clearTimeout(this.idleTimer);
    const worker = (this.worker ??= this.start(await compileLibHeif()));
    signal?.throwIfAborted();
    worker.ref(); // busy: keeps the process alive until it answers
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void, keepThread: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (keepThread) this.park(worker);
        else this.discard(worker);
        outcome();
      };
      const onMessage = (reply: HeicThreadReply) => finish(() => resolve(reply), reply.ok || !reply.decoderBroken);
      // The decoder failed to start or crashed outside libheif: ours to fix, so retryable (500).
      const onError = (err: Error) => finish(() => reject(new AppError('INTERNAL', `HEIC decoder failed: ${err.message}`)), false);
      const onExit = (code: number) =>
        finish(() => reject(new AppError('INTERNAL', `HEIC decoder exited with code ${code} before answering`)), false);
      const onAbort = () => finish(() => reject(signal!.reason), false);
      const deadline =
        timeoutSeconds > 0
          ? setTimeout(
              () =>
                finish(
                  () =>
                    reject(
                      new AppError('IMAGE_TOO_LARGE', `The image takes longer than ${timeoutSeconds} s to decode.`, {
                        decodeTimeoutSeconds: timeoutSeconds,
                      }),
                    ),
                  false,
                ),
              timeoutSeconds * 1000,
            )
          : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.postMessage(request);
    });
  }

  private start(libheif: HeicThreadInit['libheif']): Worker {
    const worker = startWorker({ libheif });
    // A thread that dies while idle is forgotten; its error (always followed by exit) is not ours
    // to throw, as no decode was waiting on it.
    worker
      .on('error', () => undefined)
      .on('exit', () => {
        if (this.worker === worker) this.worker = undefined;
      });
    return worker;
  }

  /** Idle: neither it nor its timer keeps the process alive. */
  private park(worker: Worker): void {
    worker.unref();
    this.idleTimer = setTimeout(() => this.discard(worker), this.idleMs).unref();
  }

  private discard(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }
}

const HERE = fileURLToPath(import.meta.url);

function startWorker(init: HeicThreadInit): Worker {
  const entry = pathToFileURL(path.join(path.dirname(HERE), `heic-thread${path.extname(HERE)}`));
  if (path.extname(HERE) !== '.ts') return new Worker(entry, { workerData: init });
  // Run from source (tsx, vitest): a worker thread takes no `--import tsx`, so it registers tsx's
  // loader itself before importing its entry.
  const boot = `import(${JSON.stringify(tsxRegisterUrl())}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: init });
}

/** tsx's ESM `register` module, read from its package's exports (its `require` variant cannot register). */
function tsxRegisterUrl(): string {
  const manifestPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifestPath), manifest.exports['./esm/api']!.import.default)).href;
}
