import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type Job, type Processor } from 'bullmq';
import type { RedisConnection } from '../lib/redis.js';
import type { Env } from '../lib/env.js';
import { forkExecArgv } from '../lib/fork-args.js';
import { ownValue } from '../lib/own-keys.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import { batchItemJobSchema, generateJobSchema, inferenceJobSchema, jobsOnQueue, publishJobSchema, purgeJobSchema, renderJobSchema, type JobName } from './catalogue.js';
import { processBatchItem, type BatchItemDeps } from './batches/item.js';
import type { QueueKind, WorkersConfig } from './config.js';
import { describeJobFailure, toJobError } from './job-errors.js';
import { jobLogger } from './job-log.js';
import { processGenerate, type GenerateDeps } from './processors/generate.js';
import { processInference, type InferenceDeps } from './processors/inference.js';
import { processPublish, type PublishDeps } from './processors/publish.js';
import { processPurge, type PurgeDeps } from './processors/purge.js';
import { processRender, type RenderDeps } from './processors/render.js';
import type { RunStore } from './run-store.js';
import { resolveStepInput } from './step-input.js';
import { processDelivery, type DeliveryDeps } from './webhooks/deliver.js';
import type { EventPublisher } from './webhooks/publisher.js';
import { watchRunEvents } from './webhooks/run-events.js';
import { webhookJobSchema } from './webhooks/types.js';

export interface WorkerHostDeps {
  config: WorkersConfig;
  /** A connection with `maxRetriesPerRequest: null`, as BullMQ workers require. */
  connection: RedisConnection;
  runs: RunStore;
  inference: InferenceDeps;
  render: RenderDeps;
  generate: GenerateDeps;
  publish: PublishDeps;
  purge: PurgeDeps;
  /** The catalog lane (queue kind `batch`); absent where no batch worker runs. */
  batch?: BatchItemDeps;
  /** Webhook deliveries, and the publisher that turns run state changes into events. */
  webhooks: { delivery: DeliveryDeps; publisher: EventPublisher };
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
      concurrency: deps.config.concurrency[kind],
      lockDuration: deps.config.lock.durationMs,
      stalledInterval: deps.config.lock.stalledIntervalMs,
      // Host and pid: which process ran a job shows on the job (processedBy) and in queue views.
      name: `${hostname()}:${process.pid}`,
      maxStalledCount: MAX_STALLED_COUNT,
      ...sandboxOptions(deps),
    });
    // A catalog item records its own run and batch state (workers/batches/item.ts).
    if (kind === 'batch') worker.on('error', (err) => deps.logger.error({ err, queue: worker.name }, 'worker error'));
    else trackRuns(worker, deps, track);
    watchRunEvents(worker, { publisher: deps.webhooks.publisher, runs: deps.runs, logger: deps.logger, track });
    workers.push(worker);
  }
  let closing: Promise<void> | undefined;
  return {
    workers,
    // Event handlers finish their Redis writes (run records, webhook events) after a job ends:
    // wait for them too, so nothing writes to a connection the caller closes next.
    close: () => (closing ??= Promise.all(workers.map((w) => w.close())).then(() => Promise.allSettled([...pending])).then(() => undefined)),
  };
}

function processorFor(kind: QueueKind, deps: WorkerHostDeps): Processor | string {
  if ((kind === 'render' || kind === 'inference') && deps.config.sandboxed) return sandboxFile(kind);
  const inference = (name: 'remove-background' | 'upscale'): Processor => async (job, _token, signal) => {
    const data = inferenceJobSchema.parse(job.data);
    const input = resolveStepInput(data.source, await job.getChildrenValues());
    return processInference(name, data, input, { ...deps.inference, logger: jobLogger(deps.logger, job) }, (p) => job.updateProgress(p), signal);
  };
  const generate: Processor = async (job, _token, signal) => {
    const data = generateJobSchema.parse(job.data);
    const input = resolveStepInput(data.source, await job.getChildrenValues());
    return processGenerate(data, input, deps.generate, (p) => job.updateProgress(p), signal);
  };
  // Every job in the catalogue must have a handler here: the type refuses to compile otherwise.
  const handlers: Record<JobName, Processor> = {
    'remove-background': inference('remove-background'),
    upscale: inference('upscale'),
    render: async (job, _token, signal) => {
      const data = renderJobSchema.parse(job.data);
      const input = resolveStepInput(data.source, await job.getChildrenValues());
      return processRender(data, input, deps.render, (p) => job.updateProgress(p), signal);
    },
    generate: generate,
    'generate-onnx': generate,
    publish: (job) => processPublish(job, publishJobSchema.parse(job.data), deps.publish),
    purge: (job, _token, signal) => {
      purgeJobSchema.parse(job.data);
      const attempts = job.opts.attempts ?? 1;
      return processPurge(deps.purge, { number: job.attemptsMade + 1, last: job.attemptsMade + 1 >= attempts }, signal);
    },
    'deliver-webhook': (job) => {
      const { deliveryId } = webhookJobSchema.parse(job.data);
      return processDelivery(deps.webhooks.delivery, deliveryId, { last: job.attemptsMade + 1 >= (job.opts.attempts ?? 1) });
    },
    'batch-item': (job, _token, signal) => {
      if (!deps.batch) throw new Error('this process has no catalog lane configured');
      const attempts = job.opts.attempts ?? 1;
      return processBatchItem(batchItemJobSchema.parse(job.data), { number: job.attemptsMade + 1, last: job.attemptsMade + 1 >= attempts }, deps.batch, signal);
    },
  };
  return async (job, token, signal) => {
    // A job's name is data from Redis: only an own key of the table names a processor.
    const handler = ownValue(handlers, job.name) as Processor | undefined;
    try {
      if (!handler) throw new Error(`no processor for job "${job.name}" on queue "${kind}"`);
      return await handler(job, token, signal);
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
  const safely = (what: string, p: Promise<unknown>, job?: Job) =>
    track(p.catch((err: unknown) => (job ? jobLogger(logger, job) : logger).error({ err, what }, 'could not update the run record')));

  // A purge job serves many runs and records its outcome in each of them itself; a webhook
  // delivery serves no run step at all.
  const servesNoRunStep = (job: Job) => job.name === 'purge' || job.name === 'deliver-webhook';
  worker.on('active', (job) => {
    jobLogger(logger, job).info('step started');
    if (servesNoRunStep(job)) return;
    const { runId, stepIndex } = ids(job);
    safely('active', runs.updateStep(runId, stepIndex, { state: 'active', attempts: job.attemptsMade + 1, startedAt: new Date().toISOString() }), job);
  });
  worker.on('progress', (job, progress) => {
    if (typeof progress !== 'number' || servesNoRunStep(job)) return;
    safely('progress', runs.updateStep(ids(job).runId, ids(job).stepIndex, { progress }), job);
  });
  worker.on('completed', (job, result: unknown) => {
    const { runId, stepIndex } = ids(job);
    const log = jobLogger(logger, job);
    const durationMs = (job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now());
    if (servesNoRunStep(job)) {
      if (job.name === 'purge') log.info({ purge: result, durationMs }, 'CDN purge completed');
      return;
    }
    const { timings, model, renditions, template } = (result ?? {}) as {
      timings?: Record<string, number>; model?: string; renditions?: Array<{ bytes: number }>; template?: { id: string; version: string };
    };
    deps.metrics.stepDuration.observe({ step: job.name, model: model ?? '' }, durationMs / 1000);
    if (renditions) deps.metrics.bytesOut.inc(renditions.reduce((sum, r) => sum + r.bytes, 0));
    log.info({ durationMs, timings, model }, 'step completed');
    safely('completed', runs.updateStep(runId, stepIndex, {
      state: 'completed', progress: 100, finishedAt: new Date().toISOString(), durationMs,
      ...(timings ? { timings } : {}), ...(model ? { model } : {}),
      ...(template && job.name !== 'render' ? { template } : {}),
    }), job);
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const { runId, stepIndex } = ids(job);
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    const error = describeJobFailure(err.message);
    jobLogger(logger, job, job.attemptsMade).warn({ final, reason: err.message }, 'step failed');
    deps.metrics.stepFailures.inc({ step: job.name, code: error.code, final: String(final) });
    if (servesNoRunStep(job)) return; // never fails a run: the images are published; the CDN catches up on a retry
    if (!final) {
      safely('retrying', runs.updateStep(runId, stepIndex, { state: 'retrying', error }), job);
      return;
    }
    safely('failed', Promise.all([
      runs.updateStep(runId, stepIndex, { state: 'failed', error, finishedAt: new Date().toISOString() }),
      runs.fail(runId, error),
    ]), job);
  });
  worker.on('error', (err) => logger.error({ err, queue: worker.name }, 'worker error'));
}
