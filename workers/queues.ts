import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, type FlowJob, type JobsOptions } from 'bullmq';
import type { RedisConnection } from '../lib/redis.js';
import type { QueueProbe } from '../lib/metrics.js';
import { QUEUE_KINDS, type QueueKind, type WorkersConfig } from './config.js';
import { JOBS, jobForStep, type JobData, type JobName } from './jobs/index.js';
import type { Recipe, ValidRecipe } from './recipe.js';
import type { RunRecord, RunStore } from './run-store.js';

/** The producer side: what the API needs to enqueue runs and to look at queue health. */
export interface Queues {
  flow: FlowProducer;
  queues: Record<QueueKind, Queue>;
  close(): Promise<void>;
}

export function createQueues(connection: RedisConnection, prefix: string, onError?: (err: Error) => void): Queues {
  const queues = Object.fromEntries(QUEUE_KINDS.map((k) => [k, new Queue(k, { connection, prefix })])) as Record<QueueKind, Queue>;
  const flow = new FlowProducer({ connection, prefix });
  // Without a listener BullMQ prints connection errors (a Redis restart) bare on stderr.
  if (onError) {
    flow.on('error', onError);
    for (const queue of Object.values(queues)) queue.on('error', onError);
  }
  let closing: Promise<void> | undefined;
  return {
    flow,
    queues,
    // Idempotent: a second call waits for the first.
    close: () => (closing ??= Promise.all([flow.close(), ...Object.values(queues).map((q) => q.close())]).then(() => undefined)),
  };
}

/** How each queue reports itself to the metrics scrape. */
export function queueProbes(q: Queues): QueueProbe[] {
  return Object.entries(q.queues).map(([name, queue]) => ({
    name,
    counts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed'),
    async oldestWaitingAgeSeconds() {
      const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
      return oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0;
    },
  }));
}

export interface SourceImage {
  key: string;
  sha256: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
}

export interface EnqueueRunInput {
  tenantId: string;
  assetId: string;
  source: SourceImage;
  recipe: Recipe;
  valid: ValidRecipe;
  sku?: string;
}

/** Create the run record, then enqueue its steps as one BullMQ flow (publish is the root). */
export async function enqueueRun(
  deps: { queues: Queues; runs: RunStore; config: WorkersConfig },
  input: EnqueueRunInput,
): Promise<RunRecord> {
  const runId = `run_${randomUUID().replaceAll('-', '')}`;
  const stepNames = [...input.valid.steps.map((s) => s.name), 'publish'];
  const record = await deps.runs.create({
    id: runId,
    tenantId: input.tenantId,
    assetId: input.assetId,
    recipe: input.recipe,
    stepNames,
    createdAt: new Date().toISOString(),
  });
  const base = { tenantId: input.tenantId, assetId: input.assetId, runId };
  const opts = (stepIndex: number): JobsOptions => ({
    jobId: `${runId}-${stepIndex}`,
    attempts: deps.config.attempts,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });

  // Each step's job, its queue and its options (defaults filled) come from the job table.
  // Steps run in recipe order: in a BullMQ flow a parent waits for its children, so the chain is
  // built inside out, the last step (publish) being the root.
  let chain: FlowJob | undefined;
  input.valid.steps.forEach((step, stepIndex) => {
    const at = { ...base, stepIndex, source: { key: input.source.key, sha256: input.source.sha256 } };
    const { job: stepJob, data } = jobForStep(step, at, { renderWidths: deps.config.renderWidths });
    chain = job(stepJob.name as JobName, data as never, { ...opts(stepIndex), failParentOnFailure: true }, chain);
  });
  const publishIndex = stepNames.length - 1;
  const publish: JobData<'publish'> = { ...base, stepIndex: publishIndex, source: input.source, ...(input.sku ? { sku: input.sku } : {}) };
  await deps.queues.flow.add(job('publish', publish, opts(publishIndex), chain));
  return record;
}

/** Purges retry for about six hours: 12 tries, the wait doubling from 5 s. */
const PURGE_ATTEMPTS = 12;
/** Publishes within this window share one purge request. */
const PURGE_COALESCE_MS = 200;

/**
 * Make sure a purge job will run after now. While one waits, further calls add nothing (it will
 * take every request in the outbox); while one runs, exactly one follow-up is kept, so a request
 * pushed during a send is never stranded (BullMQ deduplication with `keepLastIfActive`).
 */
export async function schedulePurge(queues: Queues): Promise<void> {
  await queues.queues[JOBS.purge.queue].add(
    JOBS.purge.name,
    {},
    {
      deduplication: { id: 'purge', keepLastIfActive: true },
      delay: PURGE_COALESCE_MS,
      attempts: PURGE_ATTEMPTS,
      backoff: { type: 'exponential', delay: 5000, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

function job<N extends JobName>(name: N, data: JobData<N>, opts: JobsOptions, child?: FlowJob): FlowJob {
  return { name, queueName: JOBS[name].queue, data, opts, ...(child ? { children: [child] } : {}) };
}
