import type { Worker } from 'bullmq';
import type { Logger } from '../lib/logger.js';
import type { WorkersConfig } from './config.js';
import { sandboxFile, type WorkerHost } from './worker-host.js';

/** The part of BullMQ's (private) child pool used here: a sandboxed worker forks children on demand through it. */
interface ChildPool {
  retain(processFile: string): Promise<unknown>;
  release(child: unknown): void;
}

/**
 * Fork the inference worker's sandboxed children now, one per concurrency slot, and wait until
 * each has loaded its warm models (the child module awaits them before BullMQ counts it started),
 * then hand them to the pool for the first jobs. BullMQ forks a child only when a job arrives, so
 * otherwise the first remove-background after start paid the fork and the session load (18 s
 * against 3.6 s warm). A child that cannot start is logged; a job then forks its own.
 */
export async function startInferenceChildren(
  host: WorkerHost,
  config: WorkersConfig,
  warm: readonly string[],
  logger: Logger,
): Promise<void> {
  const worker = host.workers.find((w: Worker) => w.name === 'inference');
  // With no warm model (MODELS_WARM empty, as in most tests) there is nothing to load ahead.
  if (!worker || !config.sandboxed || warm.length === 0) return;
  const pool = (worker as unknown as { childPool?: ChildPool }).childPool;
  if (typeof pool?.retain !== 'function' || typeof pool.release !== 'function') {
    logger.warn('cannot fork inference children ahead of jobs (BullMQ changed its child pool); the first job will load its models');
    return;
  }
  const file = sandboxFile('inference');
  const started = Date.now();
  const children = await Promise.allSettled(Array.from({ length: config.concurrency.inference }, () => pool.retain(file)));
  for (const child of children) {
    if (child.status === 'fulfilled') pool.release(child.value);
    else logger.warn({ err: child.reason as unknown }, 'an inference child did not start; a job will fork one');
  }
  logger.info({ children: children.filter((c) => c.status === 'fulfilled').length, ms: Date.now() - started }, 'inference children ready');
}
