import { AppError } from '../../lib/errors.js';
import type { Experiment, ExperimentStore } from '../../records/experiment-store.js';
import type { Recipe } from '../../workers/recipe.js';
import type { ApiDeps } from '../deps.js';
import { rerenderWithRecipe } from '../template-rerender.js';
import { purgeRouting } from './lifecycle.js';

/**
 * Promote a variant: re-render, with its recipe, the stable URLs of every SKU that does not show it
 * already (through the template re-render, one catalog batch), then end the experiment.
 */
export async function promoteVariant(
  deps: ApiDeps,
  store: ExperimentStore,
  experiment: Experiment,
  variantId: string,
): Promise<Experiment> {
  if (!['live', 'paused', 'stopped'].includes(experiment.state) || experiment.promoted) {
    throw new AppError(
      'EXPERIMENT_STATE_CONFLICT',
      `A ${experiment.promoted ? 'promoted' : experiment.state} experiment cannot promote a variant.`,
      {
        state: experiment.state,
      },
    );
  }
  const variant = experiment.variants.find((v) => v.id === variantId);
  if (!variant) throw new AppError('INVALID_REQUEST', `No variant ${variantId} in this experiment.`, { variant: variantId });
  const rerender = await rerenderWithRecipe(
    deps,
    experiment.tenantId,
    experiment.skus,
    variant.recipe as Recipe,
    variant.template,
    `experiment:${experiment.id}:promote`,
  );
  const promoted: Experiment = {
    ...experiment,
    state: 'stopped',
    endedAt: experiment.endedAt ?? new Date().toISOString(),
    promoted: { variant: variant.id, batchId: rerender.batchId, queued: rerender.queued, unchanged: rerender.unchanged },
  };
  await store.put(promoted);
  await purgeRouting(deps, promoted);
  return promoted;
}
