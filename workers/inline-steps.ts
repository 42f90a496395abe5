import { generateJobOptionsSchema, type JobData, type RenderResult } from './catalogue.js';
import { processGenerate, type GenerateDeps } from './processors/generate.js';
import { processInference, type InferenceDeps } from './processors/inference.js';
import { processRender, type RenderDeps } from './processors/render.js';
import type { ValidRecipe } from './recipe.js';
import type { StepInput } from './step-input.js';
import { OUTPUT_FORMATS, type OutputFormat } from './steps/types.js';

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
  deps: { inference: InferenceDeps; render: RenderDeps; generate: GenerateDeps },
  onStep: (event: InlineStepEvent) => void = () => undefined,
  signal?: AbortSignal,
): Promise<RenderResult> {
  let input: StepInput = { key: task.source.key, id: task.source.sha256 };
  const base = { tenantId: task.tenantId, assetId: task.assetId, runId: task.runId, source: task.source };
  const noProgress = async () => undefined;
  for (const [index, step] of task.steps.entries()) {
    signal?.throwIfAborted();
    const started = performance.now();
    onStep({ index, name: step.name, state: 'active' });
    const done = (extra: Partial<InlineStepEvent>) =>
      onStep({ index, name: step.name, state: 'completed', durationMs: Math.round(performance.now() - started), ...extra });
    if (step.name === 'render') {
      const options = step.options as { widths?: number[]; formats?: OutputFormat[] };
      const data: JobData<'render'> = { ...base, stepIndex: index, options: { widths: options.widths ?? task.defaultWidths, formats: options.formats ?? [...OUTPUT_FORMATS] } };
      const result = await processRender(data, input, deps.render, noProgress, signal);
      done({});
      return result;
    }
    if (step.name === 'generate') {
      // Options were resolved for the tenant before the task was sent (template, params, channels).
      const options = generateJobOptionsSchema.parse(step.options);
      const output = await processGenerate({ ...base, stepIndex: index, options }, input, deps.generate, noProgress, signal);
      done(output.model ? { model: output.model } : {});
      input = { key: output.key, id: output.id, layouts: output.layouts, template: output.template };
      continue;
    }
    if (step.name !== 'remove-background' && step.name !== 'upscale') throw new Error(`no inline runner for step ${step.name}`);
    const output = await processInference(step.name, { ...base, stepIndex: index, options: step.options }, input, deps.inference, noProgress, signal);
    done({ model: output.model, ...(output.timings ? { timings: { ...output.timings } } : {}) });
    input = { key: output.key, id: output.id };
  }
  throw new Error('a recipe must end with render');
}
