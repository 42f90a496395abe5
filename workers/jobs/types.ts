import type { z } from 'zod';
import type { Logger } from '../../lib/logger.js';
import type { BatchItemDeps } from '../batches/item.js';
import type { QueueKind } from '../config.js';
import type { GenerateDeps } from '../processors/generate.js';
import type { InferenceDeps } from '../processors/inference.js';
import type { PublishDeps } from '../processors/publish.js';
import type { PurgeDeps } from '../processors/purge.js';
import type { RenderDeps } from '../processors/render.js';
import type { TenantRecordsDeps } from '../processors/tenant-records.js';
import type { StepInput } from '../step-input.js';
import type { DeliveryDeps } from '../webhooks/deliver.js';
import type { StepName } from './index.js';

/** What a recipe step's job needs: every process that runs steps (worker, sandbox child, batch child, CLI) builds these alike. */
export interface StepDeps {
  inference: InferenceDeps;
  render: RenderDeps;
  generate: GenerateDeps;
}

/** Every dependency a job may need, by the name a job declares in `needs`. A process holds only some. */
export interface JobDeps {
  steps: StepDeps;
  publish: PublishDeps;
  purge: PurgeDeps;
  delivery: DeliveryDeps;
  batch: BatchItemDeps;
  records: TenantRecordsDeps;
}

/** One run of a job, the same whether BullMQ, a sandboxed child or the inline runner started it. */
export interface JobRun<D> {
  data: D;
  /** This try counts from 1; `last` when no retry follows a failure. */
  attempt: { number: number; last: boolean };
  /** The image a step works on: its upstream step's output, or the original. */
  input(): Promise<StepInput>;
  /** What the job's children returned (publish reads the render result). */
  children(): Promise<Record<string, unknown>>;
  progress(percent: number): Promise<void>;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

/** How a job carries out one recipe step: enqueueing and the inline runner both read this. */
export interface RecipeStepBinding {
  name: StepName;
  /** The step's options as a recipe names them: admission parses them with this (defaults filled). */
  optionsSchema: z.ZodType<Record<string, unknown>>;
  /** When several jobs serve one step, the one whose `accepts` answers true runs it. */
  accepts?(options: Record<string, unknown>): boolean;
  /**
   * The step's peak resident memory as a fixed part plus bytes per pixel of its input, measured
   * with `bench/memory.ts` at 64 MP (BENCHMARKS.md) and rounded up; admission refuses a source that
   * would need more than STEP_MEMORY_BUDGET_MB (workers/step-memory.ts). Absent: not checked.
   */
  memory?: { fixedMb: number; bytesPerPixel: number };
  /** The job's `options` from the step's checked (and resolved) options, defaults filled. */
  options(options: Record<string, unknown>, defaults: { renderWidths: number[] }): Record<string, unknown>;
}

/**
 * One job, declared once: its name, queue, payload schema, what it needs, its handler, and
 * whether it serves a step of a run record (its life is then mirrored into that record).
 */
export interface JobDefinition<N extends string = string, S extends z.ZodType = z.ZodType, K extends keyof JobDeps = keyof JobDeps> {
  name: N;
  queue: QueueKind;
  data: S;
  servesRunStep: boolean;
  needs: K;
  handler(run: JobRun<z.output<S>>, deps: JobDeps[K]): Promise<unknown>;
  /** Set on jobs that carry out a recipe step. */
  step?: RecipeStepBinding;
  /** Logged at info with the job's result when it completes, for jobs that serve no run step. */
  completedLog?: string;
}

/** Declare a job (typed: the handler sees the parsed payload and the dependencies it named). */
export const defineJob = <N extends string, S extends z.ZodType, K extends keyof JobDeps>(
  job: JobDefinition<N, S, K>,
): JobDefinition<N, S, K> => job;
