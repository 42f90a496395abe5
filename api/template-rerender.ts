import { applyParams } from '../templates/params.js';
import { recipeSchema, type Recipe } from '../workers/recipe.js';
import { submitBatchItems } from '../workers/batches/submit.js';
import type { BatchItemInput } from '../workers/batches/items.js';
import type { ApiDeps } from './deps.js';

/** What a template re-render did: the batch it started (if any work changed) and the counts. */
export interface TemplateRerender {
  /** The catalog batch re-rendering the assets whose renditions change; null when none do. */
  batchId: string | null;
  /** Assets whose latest run used the template. */
  assets: number;
  /** Assets queued again because their renditions change. */
  queued: number;
  /** Assets whose renditions would not change (their run's params override what changed). */
  unchanged: number;
}

/**
 * Re-render, as a catalog batch with the usual controls, every asset of a tenant whose latest run
 * used a template, but only where the rendition keys change: the version of the template as that
 * run applied it (its params included) is compared with the template as it is now.
 */
export async function rerenderTemplate(deps: ApiDeps, tenantId: string, templateId: string): Promise<TemplateRerender> {
  const stored = await deps.templates.get(tenantId, templateId);
  const assetIds = await deps.templateUsage.assetsUsingTemplate(tenantId, templateId);
  const items: BatchItemInput[] = [];
  let unchanged = 0;
  for (const assetId of assetIds) {
    const use = await deps.templateUsage.templateOf(tenantId, assetId);
    const recipe = recipeSchema.safeParse(use?.recipe);
    const asset = await deps.assets.get(tenantId, assetId);
    if (!stored || !use || !recipe.success || !asset) continue;
    const generate = recipe.data.steps.find((s) => s.name === 'generate');
    const params = (generate?.options as { params?: Parameters<typeof applyParams>[1] } | undefined)?.params;
    if (appliedVersion(stored.template, params) === use.version) {
      unchanged += 1;
      continue;
    }
    items.push({ sku: asset.sku ?? assetId, assetId, recipe: recipe.data });
  }
  if (!items.length) return { batchId: null, assets: assetIds.length, queued: 0, unchanged };
  const submission = await submitBatchItems(deps.batches.lane, tenantId, items, `template:${templateId}`);
  return { batchId: submission.batch.id, assets: assetIds.length, queued: submission.accepted, unchanged };
}

/**
 * Re-render assets with `recipe` (a promoted experiment variant) as a catalog batch, publishing to
 * their stable URLs, but only those whose latest run does not already show it: same template,
 * same version with the same params applied. Without a template every asset is re-rendered.
 */
export async function rerenderWithRecipe(
  deps: ApiDeps,
  tenantId: string,
  targets: ReadonlyArray<{ sku: string; assetId: string }>,
  recipe: Recipe,
  template: { id: string; params?: Parameters<typeof applyParams>[1] } | undefined,
  origin: string,
): Promise<TemplateRerender> {
  const stored = template && (await deps.templates.get(tenantId, template.id));
  const wanted = stored ? appliedVersion(stored.template, template.params) : undefined;
  const items: BatchItemInput[] = [];
  for (const target of targets) {
    const use = await deps.templateUsage.templateOf(tenantId, target.assetId);
    if (wanted !== undefined && use?.id === template?.id && use?.version === wanted) continue;
    items.push({ sku: target.sku, assetId: target.assetId, recipe });
  }
  const unchanged = targets.length - items.length;
  if (!items.length) return { batchId: null, assets: targets.length, queued: 0, unchanged };
  const submission = await submitBatchItems(deps.batches.lane, tenantId, items, origin);
  return { batchId: submission.batch.id, assets: targets.length, queued: submission.accepted, unchanged };
}

/** The template's version with a run's params applied; undefined when they no longer apply (the item then fails with the reason). */
function appliedVersion(template: Parameters<typeof applyParams>[0], params: Parameters<typeof applyParams>[1]): string | undefined {
  try {
    return applyParams(template, params).version;
  } catch {
    return undefined;
  }
}
