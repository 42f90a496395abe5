import { z } from 'zod';
import { envBool, envInt, envIntList, parseEnv, type Env } from '../lib/env.js';
import { HASH_TAGGED_PREFIX } from '../lib/redis.js';
import { DEFAULT_WIDTHS } from './steps/types.js';

const QUEUE_KINDS = ['inference', 'render', 'publish', 'batch'] as const;

const schema = z
  .object({
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    /** Letters, digits and `_.-`, optionally after one hash tag (`{pipeline}`, `{shop}.eu`): a cluster needs one. */
    QUEUE_PREFIX: z
      .string()
      .regex(/^(\{[A-Za-z0-9_.-]+\})?[A-Za-z0-9_.-]*$/, 'letters, digits and _.- only, optionally after one hash tag such as {pipeline}')
      .min(1)
      .default('pipeline'),
    /** Seed nodes of a Redis Cluster, `host:port,host:port`; unset: the one server at REDIS_URL. */
    REDIS_CLUSTER_NODES: z
      .string()
      .optional()
      .transform((v) =>
        v
          ?.split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      )
      .refine((nodes) => !nodes || nodes.every((n) => /^[^\s:]+:\d{1,5}$/.test(n)), 'expected host:port,host:port'),
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
    /**
     * Longest a stopping process waits for its graceful close (running jobs, HTTP, Redis) before it
     * exits anyway; its unfinished jobs then run again on another worker after their lock expires.
     * Keep it under the orchestrator's grace period (Kubernetes: terminationGracePeriodSeconds).
     */
    SHUTDOWN_TIMEOUT_SECONDS: envInt(25),
    /** A worker-only process serves /metrics and /healthz on this port (at HOST); unset: none. */
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  })
  .transform((e, ctx) => {
    const queues = e.WORKER_QUEUES.split(',')
      .map((q) => q.trim())
      .filter(Boolean);
    const unknown = queues.filter((q) => !(QUEUE_KINDS as readonly string[]).includes(q));
    if (unknown.length) {
      ctx.addIssue({
        code: 'custom',
        message: `WORKER_QUEUES: unknown queue kind(s) ${unknown.join(', ')}; use ${QUEUE_KINDS.join(', ')}`,
      });
      return z.NEVER;
    }
    const clusterNodes = e.REDIS_CLUSTER_NODES?.length ? e.REDIS_CLUSTER_NODES : undefined;
    if (clusterNodes && !HASH_TAGGED_PREFIX.test(e.QUEUE_PREFIX)) {
      // Keys in different slots would fail every MULTI, Lua script and flow with CROSSSLOT.
      ctx.addIssue({
        code: 'custom',
        path: ['QUEUE_PREFIX'],
        message: `a Redis Cluster needs a hash-tagged prefix, e.g. {${e.QUEUE_PREFIX}}, so each command's keys share one slot`,
      });
      return z.NEVER;
    }
    return {
      /** Where Redis is: REDIS_URL, or the cluster at REDIS_CLUSTER_NODES (REDIS_URL then gives credentials only). */
      redis: { url: e.REDIS_URL, ...(clusterNodes ? { clusterNodes } : {}) },
      queuePrefix: e.QUEUE_PREFIX,
      queues: queues as QueueKind[],
      concurrency: {
        inference: e.INFERENCE_CONCURRENCY,
        render: e.RENDER_CONCURRENCY,
        publish: e.PUBLISH_CONCURRENCY,
        batch: e.BATCH_CONCURRENCY,
      },
      attempts: e.JOB_ATTEMPTS,
      sandboxed: e.SANDBOXED_PROCESSORS,
      maxOutputPixels: e.MAX_OUTPUT_PIXELS,
      /**
       * What an input image may cost to decode, under one name: the upload check (pixels, frames,
       * time) and every step that decodes its input (pixels, time).
       */
      decodeLimits: { maxPixels: e.MAX_INPUT_PIXELS, maxFrames: e.MAX_INPUT_FRAMES, timeoutSeconds: e.DECODE_TIMEOUT_SECONDS },
      renderWidths: e.RENDER_WIDTHS,
      /** Stalled-job recovery: a job whose worker died runs again after about lock + interval. */
      lock: { durationMs: e.WORKER_LOCK_DURATION_MS, stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS },
      metricsPort: e.WORKER_METRICS_PORT,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    };
  });

/** Queue kinds: one per resource class, so each scales on its own (DESIGN.md "Shape"). */
export type QueueKind = (typeof QUEUE_KINDS)[number];
export { QUEUE_KINDS };
export type WorkersConfig = z.output<typeof schema>;
export const loadWorkersConfig = (env: Env): WorkersConfig => parseEnv(schema, env, 'queue/worker');
