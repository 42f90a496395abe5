import { z } from 'zod';
import { envBool, envInt, envIntList, parseEnv, type Env } from '../lib/env.js';
import { DEFAULT_WIDTHS } from './steps/types.js';

const QUEUE_KINDS = ['inference', 'render', 'publish', 'batch'] as const;

const schema = z
  .object({
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('pipeline'),
    WORKER_QUEUES: z.string().default(QUEUE_KINDS.join(',')),
    INFERENCE_CONCURRENCY: envInt(1),
    RENDER_CONCURRENCY: envInt(1),
    PUBLISH_CONCURRENCY: envInt(8),
    /** Catalog items in progress at once per process: each runs its CPU steps in a low-priority child. */
    BATCH_CONCURRENCY: envInt(2),
    JOB_ATTEMPTS: envInt(3),
    /** Off only for debugging: runs CPU-heavy processors in the worker's own event loop. */
    SANDBOXED_PROCESSORS: envBool(true),
    MAX_INPUT_PIXELS: envInt(100_000_000),
    MAX_OUTPUT_PIXELS: envInt(64_000_000),
    MAX_INPUT_FRAMES: envInt(1000),
    DECODE_TIMEOUT_SECONDS: envInt(30),
    RENDER_WIDTHS: envIntList(DEFAULT_WIDTHS),
    /** How long a worker's claim on a job lasts without renewal (renewed every half of it). */
    WORKER_LOCK_DURATION_MS: envInt(60_000),
    /** How often workers look for jobs whose worker died (lock expired) and hand them back. */
    WORKER_STALLED_INTERVAL_MS: envInt(30_000),
    /** A worker-only process serves /metrics and /healthz on this port (at HOST); unset: none. */
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  })
  .transform((e, ctx) => {
    const queues = e.WORKER_QUEUES.split(',').map((q) => q.trim()).filter(Boolean);
    const unknown = queues.filter((q) => !(QUEUE_KINDS as readonly string[]).includes(q));
    if (unknown.length) {
      ctx.addIssue({ code: 'custom', message: `WORKER_QUEUES: unknown queue kind(s) ${unknown.join(', ')}; use ${QUEUE_KINDS.join(', ')}` });
      return z.NEVER;
    }
    return {
      redisUrl: e.REDIS_URL,
      queuePrefix: e.QUEUE_PREFIX,
      queues: queues as QueueKind[],
      concurrency: { inference: e.INFERENCE_CONCURRENCY, render: e.RENDER_CONCURRENCY, publish: e.PUBLISH_CONCURRENCY, batch: e.BATCH_CONCURRENCY },
      attempts: e.JOB_ATTEMPTS,
      sandboxed: e.SANDBOXED_PROCESSORS,
      maxInputPixels: e.MAX_INPUT_PIXELS,
      maxOutputPixels: e.MAX_OUTPUT_PIXELS,
      maxInputFrames: e.MAX_INPUT_FRAMES,
      /** What workers allow when they decode a step's input. */
      decodeLimits: { maxPixels: e.MAX_INPUT_PIXELS, timeoutSeconds: e.DECODE_TIMEOUT_SECONDS },
      decodeTimeoutSeconds: e.DECODE_TIMEOUT_SECONDS,
      renderWidths: e.RENDER_WIDTHS,
      /** Stalled-job recovery: a job whose worker died runs again after about lock + interval. */
      lock: { durationMs: e.WORKER_LOCK_DURATION_MS, stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS },
      metricsPort: e.WORKER_METRICS_PORT,
    };
  });

/** Queue kinds: one per resource class, so each scales on its own (DESIGN.md "Shape"). */
export type QueueKind = (typeof QUEUE_KINDS)[number];
export { QUEUE_KINDS };
export type WorkersConfig = z.output<typeof schema>;
export const loadWorkersConfig = (env: Env): WorkersConfig => parseEnv(schema, env, 'queue/worker');
