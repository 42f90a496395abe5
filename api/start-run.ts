import { SKU_PATTERN } from '../cdn/keys.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { enqueueRun } from '../workers/queues.js';
import { checkOutputSize, parseRecipe, validateRecipe, type Recipe, type ValidRecipe } from '../workers/recipe.js';
import type { RunRecord } from '../workers/run-store.js';
import type { AssetRecord } from '../records/asset-store.js';
import type { ApiDeps } from './deps.js';
import { resolveGenerate, type GenerateResolverDeps, type ResolvedRecipe } from './resolve-generate.js';

/** Parse the optional `sku` form field. */
export function parseSkuField(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!SKU_PATTERN.test(raw))
    throw new AppError('INVALID_REQUEST', 'A `sku` is 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit.');
  return raw;
}

/** A recipe given as text (a form field, a command-line flag): `parseRecipe`, naming where it came from. */
export const parseRecipeField = (raw: string | undefined, source = 'The `recipe` field'): Recipe => parseRecipe(raw, source);

/**
 * Everything that can refuse a recipe for a source of this size: call it before writing anything,
 * so a refused request leaves nothing behind.
 */
export async function prepareRun(
  deps: GenerateResolverDeps,
  tenantId: string,
  recipe: Recipe,
  source: { width: number; height: number },
): Promise<ResolvedRecipe> {
  const valid: ValidRecipe = validateRecipe(recipe);
  checkOutputSize(source, valid, deps.config.workers.maxOutputPixels);
  return resolveGenerate(deps, tenantId, valid);
}

/** Start a run of a recipe already checked by `prepareRun`; `log` (the request's) ties its id to the run's. */
export async function startRun(
  deps: Pick<ApiDeps, 'queues' | 'runs' | 'config'>,
  asset: AssetRecord,
  recipe: Recipe,
  resolved: ResolvedRecipe,
  log?: Pick<Logger, 'info'>,
): Promise<RunRecord> {
  const run = await enqueueRun(
    { queues: deps.queues, runs: deps.runs, config: deps.config.workers },
    {
      tenantId: asset.tenantId,
      assetId: asset.id,
      source: asset.original,
      recipe,
      valid: resolved.valid,
      ...(asset.sku ? { sku: asset.sku } : {}),
    },
  );
  log?.info({ runId: run.id, assetId: asset.id, steps: run.steps.map((s) => s.name) }, 'run enqueued');
  return run;
}

/** A run as clients see it (tenant id is implied by the key). */
export const publicRun = ({ tenantId: _tenant, ...run }: RunRecord) => run;
