import { AppError } from '../lib/errors.js';
import { enqueueRun } from '../workers/queues.js';
import { DEFAULT_RECIPE, recipeSchema, type Recipe, type ValidRecipe } from '../workers/recipe.js';
import type { RunRecord } from '../workers/run-store.js';
import type { AssetRecord } from './asset-store.js';
import type { ApiDeps } from './deps.js';

/** Parse a recipe sent as a multipart text field (JSON). Absent → the default recipe. */
export function parseRecipeField(raw: string | undefined): Recipe {
  if (raw === undefined || raw.trim() === '') return DEFAULT_RECIPE;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new AppError(422, 'INVALID_RECIPE', 'The `recipe` field is not valid JSON.');
  }
  const parsed = recipeSchema.safeParse(json);
  if (!parsed.success) throw new AppError(422, 'INVALID_RECIPE', `Invalid recipe: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Start a run of a recipe already checked by `validateRecipe` (call it before writing anything). */
export async function startRun(deps: ApiDeps, asset: AssetRecord, recipe: Recipe, valid: ValidRecipe): Promise<RunRecord> {
  return enqueueRun(
    { queues: deps.queues, runs: deps.runs, config: deps.config.workers },
    { tenantId: asset.tenantId, assetId: asset.id, source: asset.original, recipe, valid },
  );
}

/** A run as clients see it (tenant id is implied by the key). */
export const publicRun = ({ tenantId: _tenant, ...run }: RunRecord) => run;
