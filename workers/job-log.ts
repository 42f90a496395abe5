import type { Logger } from '../lib/logger.js';

/** What a job looks like to the logger: a BullMQ `Job` in the worker, a `SandboxedJob` in a child. */
export interface LoggableJob {
  id?: string | undefined;
  name: string;
  queueName?: string;
  data: unknown;
  attemptsMade: number;
}

/**
 * The fields every log line about a job carries, so one query (`runId="run_…"`) finds a run's
 * whole story across the API, the worker hosts and their sandboxed children. `step` is the job
 * name; `attempt` counts from 1. While a job runs BullMQ has not yet counted its attempt in
 * `attemptsMade` (the number is `attemptsMade + 1`); for a job that has just finished use
 * {@link finishedJobLogBindings}.
 */
export function jobLogBindings(job: LoggableJob, attempt = job.attemptsMade + 1): Record<string, unknown> {
  const data = (job.data ?? {}) as { runId?: unknown; tenantId?: unknown; assetId?: unknown };
  const bindings: Record<string, unknown> = {};
  // A purge job serves many runs, so it has no run, tenant or asset of its own.
  for (const key of ['runId', 'tenantId', 'assetId'] as const) if (typeof data[key] === 'string') bindings[key] = data[key];
  return { ...bindings, step: job.name, jobId: job.id, attempt, ...(job.queueName ? { queue: job.queueName } : {}) };
}

/**
 * The bindings for a job that has just finished (BullMQ's `completed` and `failed` events): BullMQ
 * (5 and later) counts the attempt in `attemptsMade` before it emits either, so `attemptsMade` is
 * the attempt that just ran. Taking `attemptsMade + 1` there logged a first attempt as `attempt: 2`.
 */
export const finishedJobLogBindings = (job: LoggableJob): Record<string, unknown> => jobLogBindings(job, job.attemptsMade);

/** A child logger for one job. */
export const jobLogger = (logger: Logger, job: LoggableJob, attempt?: number): Logger => logger.child(jobLogBindings(job, attempt));

/** A child logger for a job that has just finished: see {@link finishedJobLogBindings}. */
export const finishedJobLogger = (logger: Logger, job: LoggableJob): Logger => logger.child(finishedJobLogBindings(job));
