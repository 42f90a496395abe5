import { renderResultSchema, type RenderResult } from './catalogue.js';
import { jobForStep } from './jobs/index.js';
import type { StepDeps } from './jobs/types.js';
import type { ValidRecipe } from './recipe.js';
import { resolveStepInput, type StepInput } from './step-input.js';

/** A recipe's steps to run in this process, one after another, without queues. */
export interface InlineStepsTask {
  tenantId: string;
  assetId: string;
  runId: string;
  source: { key: string; sha256: string };
  steps: ValidRecipe['steps'];
  /** Widths of the render step when its options name none. */
  defaultWidths: number[];
}

/** What happened to one step, for run records and progress bars. */
export interface InlineStepEvent {
  index: number;
  name: string;
  state: 'active' | 'completed';
  durationMs?: number;
  timings?: Record<string, number>;
  model?: string;
}

/**
 * Run every step of a recipe (the AI steps, then `render`) in this process with the same step
 * processors the queues use, each reading the previous one's output from storage. The catalog
 * lane and the command line use this; interactive runs keep their one-job-per-step flows.
 */
export async function runStepsInline(
  task: InlineStepsTask,
  deps: StepDeps,
  onStep: (event: InlineStepEvent) => void = () => undefined,
  signal?: AbortSignal,
): Promise<RenderResult> {
  let input: StepInput = { key: task.source.key, id: task.source.sha256 };
  const base = { tenantId: task.tenantId, assetId: task.assetId, runId: task.runId, source: task.source };
  for (const [index, step] of task.steps.entries()) {
    signal?.throwIfAborted();
    const started = performance.now();
    onStep({ index, name: step.name, state: 'active' });
    // The same job, payload and handler as the queues would use (workers/jobs/).
    const { job, data } = jobForStep(step, { ...base, stepIndex: index }, { renderWidths: task.defaultWidths });
    const stepInput = input;
    const output = (await job.handler(
      {
        data: job.data.parse(data),
        attempt: { number: 1, last: true },
        input: async () => stepInput,
        children: async () => ({}),
        progress: async () => undefined,
        logger: deps.inference.logger,
        signal,
      },
      deps,
    )) as { model?: string; timings?: Record<string, number> };
    onStep({
      index,
      name: step.name,
      state: 'completed',
      durationMs: Math.round(performance.now() - started),
      ...(output.model ? { model: output.model } : {}),
      ...(output.timings ? { timings: { ...output.timings } } : {}),
    });
    // A checked recipe ends with render: its set is the result.
    if (index === task.steps.length - 1) return renderResultSchema.parse(output);
    // The next step reads this one's output exactly as a queued job reads its child's.
    input = resolveStepInput(task.source, { [step.name]: output });
  }
  throw new Error('a recipe must end with render');
}
