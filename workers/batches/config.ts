import { z } from 'zod';
import { envInt, parseEnv, type Env } from '../../lib/env.js';

const schema = z
  .object({
    /** Items (data lines) one batch may hold; a longer catalog is refused whole with 413. */
    MAX_BATCH_ITEMS: envInt(100_000),
    /** Longest line of a catalog; a longer one is reported as a bad line. */
    MAX_BATCH_LINE_BYTES: envInt(16 * 1024),
    /** How often a worker process emits `batchProgress` per batch, at most. */
    BATCH_PROGRESS_INTERVAL_MS: envInt(1000),
    /** Niceness of the processes that run catalog items' CPU work: 19 yields the CPU to interactive runs. */
    BATCH_CPU_NICE: z.coerce.number().int().min(0).max(19).default(19),
    /** Longest the catalog's steps stay frozen while interactive work runs; 0: never freeze them. */
    BATCH_YIELD_MAX_MS: z.coerce.number().int().min(0).default(5000),
  })
  .transform((e) => ({
    maxItems: e.MAX_BATCH_ITEMS,
    maxLineBytes: e.MAX_BATCH_LINE_BYTES,
    progressIntervalMs: e.BATCH_PROGRESS_INTERVAL_MS,
    cpuNice: e.BATCH_CPU_NICE,
    yieldMaxMs: e.BATCH_YIELD_MAX_MS,
  }));

/**
 * Catalog items in progress per step child (BATCH_CONCURRENCY children per worker process). An
 * item spends part of its time outside its child: batch records, its source, its run record,
 * publish (storage writes that wait on fsync or S3). With one item per child the child idles
 * meanwhile; with two, the next item is ready when the child frees up, and the last one publishes
 * while the children compute.
 */
export const ITEMS_PER_STEP_CHILD = 2;

export type BatchConfig = z.output<typeof schema>;
export const loadBatchConfig = (env: Env): BatchConfig => parseEnv(schema, env, 'batch');
