import type { z } from 'zod';
import type { Logger } from '../../lib/logger.js';
import { nameTable, ownValue } from '../../lib/own-keys.js';
import type { QueueKind } from '../config.js';
import { jobLogger, type LoggableJob } from '../job-log.js';
import { resolveStepInput } from '../step-input.js';
import { batchItemJob } from './batch-item.js';
import { deleteTenantJob } from './delete-tenant.js';
import { deliverWebhookJob } from './deliver-webhook.js';
import { generateOnnxJob } from './generate-onnx.js';
import { generateJob } from './generate.js';
import { publishJob } from './publish.js';
import { purgeJob } from './purge.js';
import { rebuildAssetIndexJob } from './rebuild-asset-index.js';
import { removeBackgroundJob } from './remove-background.js';
import { renderJob } from './render.js';
import type { JobDefinition, JobDeps, RecipeStepBinding } from './types.js';
import { upscaleJob } from './upscale.js';

/**
 * The one job table (immich's `@OnJob({ name, queue })`): enqueueing, the worker host, the sandboxed
 * children, the catalog child and the command line all read it. Add a job here and in its own file.
 */
const JOB_LIST = [
  removeBackgroundJob,
  upscaleJob,
  generateJob,
  generateOnnxJob,
  renderJob,
  publishJob,
  purgeJob,
  deliverWebhookJob,
  batchItemJob,
  rebuildAssetIndexJob,
  deleteTenantJob,
] as const;

/**
 * Step names a recipe may mention, in the order the docs list them. A name that no job carries
 * out is refused with `STEP_NOT_AVAILABLE` (its implementation has not landed), never faked.
 */
export const STEP_NAMES = ['remove-background', 'upscale', 'generate', 'render'] as const;
export type StepName = (typeof STEP_NAMES)[number];

type AnyDefinition = (typeof JOB_LIST)[number];
export type JobName = AnyDefinition['name'];
export type JobData<N extends JobName> = z.output<Extract<AnyDefinition, { name: N }>['data']>;

/** Jobs by name; a name read from Redis is looked up as an own key only. */
export const JOBS = nameTable(
  Object.fromEntries(JOB_LIST.map((j) => [j.name, j])) as { [N in JobName]: Extract<AnyDefinition, { name: N }> },
);

/** Each available step's options schema, from the job that carries it out (both generate jobs share one). */
export const STEP_OPTIONS: Readonly<Partial<Record<string, z.ZodType<Record<string, unknown>>>>> = nameTable(
  Object.fromEntries((JOB_LIST as readonly JobDefinition[]).flatMap((j) => (j.step ? [[j.step.name, j.step.optionsSchema]] : []))),
);

/** Each step's measured memory cost, where it declares one (see `RecipeStepBinding.memory`). */
export const STEP_MEMORY: Readonly<Partial<Record<string, { fixedMb: number; bytesPerPixel: number }>>> = nameTable(
  Object.fromEntries((JOB_LIST as readonly JobDefinition[]).flatMap((j) => (j.step?.memory ? [[j.step.name, j.step.memory]] : []))),
);

/** The table's entry for a job name from anywhere (Redis, a child's message), or undefined. */
export const jobNamed = (name: string): JobDefinition | undefined => ownValue(JOBS, name) as JobDefinition | undefined;

/** Job names that run on a queue kind. */
export const jobsOnQueue = (kind: QueueKind): JobName[] => JOB_LIST.filter((j) => j.queue === kind).map((j) => j.name);

/** A job that carries out a recipe step. */
export type StepJob = JobDefinition & { step: RecipeStepBinding };

/**
 * A checked recipe step as its job: which job (for `generate`, the one its template needs) and
 * the payload, its options' defaults filled. The queues and the inline runner both build it here.
 */
export function jobForStep(
  step: { name: string; options: Record<string, unknown> },
  at: { tenantId: string; assetId: string; runId: string; stepIndex: number; source: { key: string; sha256: string } },
  defaults: { renderWidths: number[] },
): { job: StepJob; data: Record<string, unknown> } {
  const job = (JOB_LIST as readonly JobDefinition[]).find(
    (j): j is StepJob => j.step?.name === step.name && (j.step.accepts?.(step.options) ?? true),
  );
  if (!job) throw new Error(`no job carries out the step ${step.name}`);
  return { job, data: { ...at, options: job.step.options(step.options, defaults) } };
}

/**
 * Refuse to start a queue whose jobs cannot all run in this process: a job with no handler, or
 * whose dependencies (`needs`) this process was not given, would otherwise fail every time it ran.
 */
export function assertHandlers(kinds: readonly QueueKind[], deps: Partial<JobDeps>): void {
  for (const kind of kinds) {
    for (const name of jobsOnQueue(kind)) {
      const job = JOBS[name] as JobDefinition;
      if (typeof job.handler !== 'function') throw new Error(`cannot start the ${kind} queue: the job "${name}" has no handler`);
      if (!deps[job.needs])
        throw new Error(
          `cannot start the ${kind} queue: the job "${name}" needs ${job.needs} dependencies, which this process was not given`,
        );
    }
  }
}

/** A job as BullMQ hands it over, in the worker (`Job`) or in a sandboxed child (`SandboxedJob`). */
export interface QueuedJob extends LoggableJob {
  opts: { attempts?: number | undefined };
  getChildrenValues(): Promise<Record<string, unknown>>;
  updateProgress(progress: number): Promise<void>;
}

/** Run a queued job by its table entry: parse its payload, hand it what it needs. */
export async function runQueuedJob(job: QueuedJob, deps: Partial<JobDeps>, logger: Logger, signal?: AbortSignal): Promise<unknown> {
  const def = jobNamed(job.name);
  if (!def) throw new Error(`no processor for job "${job.name}"${job.queueName ? ` on queue "${job.queueName}"` : ''}`);
  const need = deps[def.needs];
  if (!need) throw new Error(`the job "${job.name}" needs ${def.needs} dependencies, which this process was not given`);
  const data = def.data.parse(job.data) as { source?: { key: string; sha256: string } };
  const number = job.attemptsMade + 1;
  return def.handler(
    {
      data,
      attempt: { number, last: number >= (job.opts.attempts ?? 1) },
      input: async () => resolveStepInput(data.source!, await job.getChildrenValues()),
      children: () => job.getChildrenValues(),
      progress: (p) => job.updateProgress(p),
      logger: jobLogger(logger, job),
      signal,
    },
    need as never,
  );
}
