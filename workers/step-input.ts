import { stepOutputSchema, type LayoutOutput, type StepOutput } from './catalogue.js';

/** What a step reads: one image, and after a generate step its per-channel scenes too. */
export interface StepInput {
  key: string;
  id: string;
  layouts?: LayoutOutput[];
  template?: NonNullable<StepOutput['template']>;
}

/**
 * The image a step works on: the output of the step before it (its only child in the flow), or
 * the original when it is the first step. The original's id is its sha256.
 */
export function resolveStepInput(source: { key: string; sha256: string }, childValues: Record<string, unknown>): StepInput {
  const outputs = Object.values(childValues);
  if (outputs.length === 0) return { key: source.key, id: source.sha256 };
  if (outputs.length > 1) throw new Error(`a step expects one upstream step, found ${outputs.length}`);
  const previous: StepOutput = stepOutputSchema.parse(outputs[0]);
  return {
    key: previous.key,
    id: previous.id,
    ...(previous.layouts ? { layouts: previous.layouts } : {}),
    ...(previous.template ? { template: previous.template } : {}),
  };
}
