import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type Job, type Processor } from 'bullmq';
import type { RedisConnection } from '../lib/redis.js';
import type { Env } from '../lib/env.js';
import { forkExecArgv } from '../lib/fork-args.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import { ITEMS_PER_STEP_CHILD } from './batches/config.js';
import type { QueueKind, WorkersConfig } from './config.js';
import { describeJobFailure, toJobError } from './job-errors.js';
import { finishedJobLogger, jobLogger } from './job-log.js';
import { assertHandlers, jobNamed, jobsOnQueue, runQueuedJob } from './jobs/index.js';
import { OrderedWrites } from './ordered-writes.js';
import type { JobDeps } from './jobs/types.js';
import type { RunStore } from './run-store.js';
import type { EventPublisher } from './webhooks/publisher.js';
import { watchRunEvents } from './webhooks/run-events.js';

export interface WorkerHostDeps {
  config: WorkersConfig;
  /** A connection with `maxRetriesPerRequest: null`, as BullMQ workers require. */
  connection: RedisConnection;
  runs: RunStore;
  /**
   * What the jobs of the job table need (workers/jobs/). A queue one of whose jobs needs a part
   * absent here (the catalog lane where no batch worker runs) refuses to start.
   */
  jobs: Partial<JobDeps>;
  /** Turns run state changes into webhook events. */
  publisher: EventPublisher;
  metrics: Metrics;
  logger: Logger;
  /** The environment handed to sandboxed children, which build their own dependencies from it. */
  childEnv: Env;
}

export interface WorkerHost {
  workers: Worker[];
  /** Stop taking jobs and let running ones finish (or hand them back). Idempotent. */
  close(): Promise<void>;
}

/**
 * Jobs here run for seconds: by default a minute's lock, renewed every 30 s, checked for stalls
 * every 30 s (WORKER_LOCK_DURATION_MS, WORKER_STALLED_INTERVAL_MS), and two stalls before a job fails.
 */
const MAX_STALLED_COUNT = 2;

/** Start one BullMQ worker per queue kind in `kinds`. */
export function startWorkers(deps: WorkerHostDeps, kinds: QueueKind[]): WorkerHost {
  // Before any worker starts: a job that could never run here fails the start, not every job.
  assertHandlers(kinds, deps.jobs);
  const workers: Worker[] = [];
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  for (const kind of kinds) {
    const names = jobsOnQueue(kind);
    if (names.length === 0) {
      deps.logger.info({ queue: kind }, 'no job in the catalogue runs on this queue yet; not starting a worker for it');
      continue;
    }
    const worker = new Worker(kind, processorFor(kind, deps), {
      connection: deps.connection,
      prefix: deps.config.queuePrefix,
      // The catalog lane runs BATCH_CONCURRENCY step children, each with its next item ready.
      concurrency: kind === 'batch' ? deps.config.concurrency.batch * ITEMS_PER_STEP_CHILD : deps.config.concurrency[kind],
      lockDuration: deps.config.lock.durationMs,
      stalledInterval: deps.config.lock.stalledIntervalMs,
      // Host and pid: which process ran a job shows on the job (processedBy) and in queue views.
      name: `${hostname()}:${process.pid}`,
      maxStalledCount: MAX_STALLED_COUNT,
      ...sandboxOptions(deps),
    });
    trackRuns(worker, deps, track);
    watchRunEvents(worker, { publisher: deps.publisher, runs: deps.runs, logger: deps.logger, track });
    workers.push(worker);
  }
  let closing: Promise<void> | undefined;
  return {
    workers,
    // Event handlers finish their Redis writes (run records, webhook events) after a job ends:
    // wait for them too, so nothing writes to a connection the caller closes next.
    close: () =>
      (closing ??= Promise.all(workers.map((w) => w.close()))
        .then(() => Promise.allSettled([...pending]))
        .then(() => undefined)),
  };
}

/**
 * A queue whose jobs all carry out recipe steps runs them in sandboxed children (when
 * SANDBOXED_PROCESSORS is on); any other job runs here. Either way the job table dispatches.
 */
function processorFor(kind: QueueKind, deps: WorkerHostDeps): Processor | string {
  if (deps.config.sandboxed && jobsOnQueue(kind).every((name) => jobNamed(name)?.needs === 'steps')) return sandboxFile(kind);
  return async (job, _token, signal) => {
    try {
      return await runQueuedJob(job, deps.jobs, deps.logger, signal);
    } catch (err) {
      throw toJobError(err);
    }
  };
}

/** Under tsx/vitest the sources are `.ts` and children need the tsx loader; built code is `.js`. */
const HERE = fileURLToPath(import.meta.url);

export function sandboxFile(name: string): string {
  return path.join(path.dirname(HERE), 'sandbox', `${name}${path.extname(HERE)}`);
}

function sandboxOptions(deps: WorkerHostDeps) {
  return {
    workerForkOptions: {
      env: deps.childEnv as NodeJS.ProcessEnv,
      execArgv: forkExecArgv(HERE),
    },
  };
}

/** Mirror each job's life into its run record, so `GET /v1/runs/:id` tells the whole story. */
function trackRuns(worker: Worker, deps: WorkerHostDeps, track: (p: Promise<unknown>) => void): void {
  const { runs, logger } = deps;
  const ids = (job: Job) => job.data as { runId: string; stepIndex: number; tenantId: string };
  // Each write is retried through a Redis outage, in order per step (workers/ordered-writes.ts).
  const writes = new OrderedWrites();
  const safely = (what: string, write: () => Promise<unknown>, job: Job) => {
    const step = `${ids(job).runId}:${ids(job).stepIndex}`;
    track(writes.push(step, write).catch((err: unknown) => jobLogger(logger, job).error({ err, what }, 'could not update the run record')));
  };

  // A purge job serves many runs and records its outcome in each of them itself; a webhook
  // delivery serves no run step at all; a catalog item records its own run and batch state.
  const servesNoRunStep = (job: Job) => jobNamed(job.name)?.servesRunStep !== true;
  worker.on('active', (job) => {
    jobLogger(logger, job).info('step started');
    if (servesNoRunStep(job)) return;
    const { runId, stepIndex } = ids(job);
    safely(
      'active',
      () => runs.updateStep(runId, stepIndex, { state: 'active', attempts: job.attemptsMade + 1, startedAt: new Date().toISOString() }),
      job,
    );
  });
  worker.on('progress', (job, progress) => {
    if (typeof progress !== 'number' || servesNoRunStep(job)) return;
    safely('progress', () => runs.updateStep(ids(job).runId, ids(job).stepIndex, { progress }), job);
  });
  worker.on('completed', (job, result: unknown) => {
    const { runId, stepIndex } = ids(job);
    const log = finishedJobLogger(logger, job);
    const durationMs = (job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now());
    if (servesNoRunStep(job)) {
      const message = jobNamed(job.name)?.completedLog;
      if (message) log.info({ [job.name]: result, durationMs }, message);
      return;
    }
    const { timings, model, renditions, template } = (result ?? {}) as {
      timings?: Record<string, number>;
      model?: string;
      renditions?: Array<{ bytes: number }>;
      template?: { id: string; version: string };
    };
    deps.metrics.stepDuration.observe({ step: job.name, model: model ?? '' }, durationMs / 1000);
    if (renditions) deps.metrics.bytesOut.inc(renditions.reduce((sum, r) => sum + r.bytes, 0));
    log.info({ durationMs, timings, model }, 'step completed');
    safely(
      'completed',
      () =>
        runs.updateStep(runId, stepIndex, {
          state: 'completed',
          progress: 100,
          finishedAt: new Date().toISOString(),
          durationMs,
          ...(timings ? { timings } : {}),
          ...(model ? { model } : {}),
          ...(template && job.name !== 'render' ? { template } : {}),
        }),
      job,
    );
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const { runId, stepIndex } = ids(job);
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    const error = describeJobFailure(err.message);
    finishedJobLogger(logger, job).warn({ final, reason: err.message }, 'step failed');
    deps.metrics.stepFailures.inc({ step: job.name, code: error.code, final: String(final) });
    if (servesNoRunStep(job)) return; // never fails a run: the images are published; the CDN catches up on a retry
    if (!final) {
      safely('retrying', () => runs.updateStep(runId, stepIndex, { state: 'retrying', error }), job);
      return;
    }
    safely(
      'failed',
      () =>
        Promise.all([
          runs.updateStep(runId, stepIndex, { state: 'failed', error, finishedAt: new Date().toISOString() }),
          runs.fail(runId, error),
        ]),
      job,
    );
  });
  worker.on('error', (err) => logger.error({ err, queue: worker.name }, 'worker error'));
}
