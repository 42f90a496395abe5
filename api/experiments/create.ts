import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SKU_PATTERN } from '../../cdn/keys.js';
import { AppError, notFound } from '../../lib/errors.js';
import { plannedSampleSize } from '../../lib/experiment-stats.js';
import { ACTIVE_EXPERIMENT_STATES, type Experiment, type ExperimentStore, type ExperimentVariant } from '../../records/experiment-store.js';
import { exportResults } from '../../workers/batches/results.js';
import { submitBatchItems } from '../../workers/batches/submit.js';
import { checkItem, templateRecipe, type BatchItemInput } from '../../workers/batches/items.js';
import { renderStepOptionsSchema } from '../../workers/jobs/render.js';
import { parseRecipe, validateRecipe, type Recipe } from '../../workers/recipe.js';
import { resolveGenerate } from '../resolve-generate.js';
import type { ApiDeps } from '../deps.js';

/** At most this many variants (the VCL's assignment is unrolled for exactly this many). */
export const MAX_EXPERIMENT_VARIANTS = 4;
/** At most this many SKUs per experiment: every variant of each is rendered and kept in one record. */
export const MAX_EXPERIMENT_SKUS = 100;

const variantSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/)
      .describe('Lowercase letters, digits and `-`; shown in results and the `X-Experiment-Variant` header.'),
    weight: z.number().positive().max(1000).default(1).describe('Share of traffic, relative to the other variants.'),
    control: z.boolean().default(false).describe('Exactly one variant is the control: what everyone sees while paused or stopped.'),
    template: z.string().min(1).max(64).optional().describe('A template id: cut out, laid out in its scene, rendered.'),
    params: z.record(z.string(), z.unknown()).optional().describe("The template's params for this variant (colourway, backdrop...)."),
    recipe: z.unknown().optional().describe('A whole recipe instead of `template` (`{ "steps": [...] }`).'),
  })
  .strict();

export const createExperimentSchema = z
  .object({
    name: z.string().min(1).max(200),
    skus: z
      .array(z.string().regex(SKU_PATTERN))
      .min(1)
      .max(MAX_EXPERIMENT_SKUS)
      .optional()
      .describe("SKUs; each one's newest asset is used."),
    batchId: z
      .string()
      .regex(/^bat_[0-9a-f]{32}$/)
      .optional()
      .describe('Instead of `skus`: the SKUs and assets of a completed catalog batch.'),
    variants: z.array(variantSchema).min(2).max(MAX_EXPERIMENT_VARIANTS),
    options: renderStepOptionsSchema.optional().describe('Render widths and formats of every variant (the stable URLs offer these).'),
    visitorCookie: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional()
      .describe('A cookie of yours that holds the visitor id (the `X-Visitor-Id` header always does). We set no cookie.'),
    plan: z
      .object({
        baselineRate: z.number().gt(0).lt(1).default(0.05),
        minimumDetectableEffect: z.number().gt(0).max(10).default(0.2).describe('Smallest relative lift worth detecting: 0.2 is +20 %.'),
        alpha: z.number().gt(0).lt(0.5).default(0.05),
        power: z.number().gt(0.5).lt(1).default(0.8),
      })
      .strict()
      .default({ baselineRate: 0.05, minimumDetectableEffect: 0.2, alpha: 0.05, power: 0.8 }),
  })
  .strict();
export type CreateExperimentBody = z.output<typeof createExperimentSchema>;

const invalid = (message: string) => new AppError('INVALID_REQUEST', message);

/** A variant's recipe: its template's (params in the generate step) or its own, with the experiment's render options. */
function variantRecipe(variant: z.output<typeof variantSchema>, options: CreateExperimentBody['options']): Recipe {
  if ((variant.template === undefined) === (variant.recipe === undefined))
    throw invalid(`Variant ${variant.id}: give \`template\` or \`recipe\`.`);
  if (variant.params && !variant.template) throw invalid(`Variant ${variant.id}: \`params\` go with \`template\`.`);
  const base = variant.template ? templateRecipe(variant.template) : parseRecipe(variant.recipe, `Variant ${variant.id}'s recipe`);
  return {
    ...base,
    steps: base.steps.map((s) => {
      if (s.name === 'generate' && variant.params) return { ...s, options: { ...s.options, params: variant.params } };
      if (s.name === 'render' && options) return { ...s, options: { ...s.options, ...options } };
      return s;
    }),
  };
}

/** The template and params a variant's recipe applies, if it applies one (promotion compares them). */
export function appliedTemplate(recipe: unknown): ExperimentVariant['template'] {
  const generate = (recipe as Recipe).steps.find((s) => s.name === 'generate');
  const options = generate?.options as { template?: unknown; params?: Record<string, unknown> } | undefined;
  return typeof options?.template === 'string'
    ? { id: options.template, ...(options.params ? { params: options.params } : {}) }
    : undefined;
}

/** Run `check`, naming the variant in the message of an error it throws. */
async function prefixed(variant: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, `Variant ${variant}: ${err.message}`, err.details);
    throw err;
  }
}

/** The SKUs and their assets: each SKU's newest asset, or a batch's completed lines. */
async function resolveSkus(deps: ApiDeps, tenantId: string, body: CreateExperimentBody): Promise<Experiment['skus']> {
  if ((body.skus === undefined) === (body.batchId === undefined)) throw invalid('Give `skus` or `batchId`.');
  if (body.skus) {
    return Promise.all(
      [...new Set(body.skus)].map(async (sku) => {
        const asset = (await deps.assets.list(tenantId, { sku, limit: 1 })).items[0];
        if (!asset) throw new AppError('NOT_FOUND', `No asset has SKU ${sku}.`, { sku });
        return { sku, assetId: asset.id };
      }),
    );
  }
  const meta = await deps.batches.lane.store.metaOf(tenantId, body.batchId!);
  if (!meta) throw notFound('Batch');
  const bySku = new Map<string, string>();
  for await (const chunk of exportResults(deps.batches.lane.store, meta)) {
    for (const line of chunk.split('\n').filter(Boolean)) {
      const row = JSON.parse(line) as { sku: string; state: string; assetId?: string };
      if (row.state === 'completed' && row.assetId) bySku.set(row.sku, row.assetId);
    }
  }
  if (!bySku.size) throw invalid('The batch has no completed lines.');
  if (bySku.size > MAX_EXPERIMENT_SKUS)
    throw invalid(`An experiment holds at most ${MAX_EXPERIMENT_SKUS} SKUs; the batch has ${bySku.size}.`);
  return [...bySku].map(([sku, assetId]) => ({ sku, assetId }));
}

/**
 * Refuse a new experiment while the tenant has its quota of ones still rendering, live or paused:
 * each renders every variant of every SKU on the shared catalog lane and keeps an edge routing
 * answer and counters per URL. Counted before anything is rendered (like the webhook quota, a
 * read then a write: two creates at the same instant may both pass).
 */
async function checkQuota(deps: ApiDeps, store: ExperimentStore, tenantId: string): Promise<void> {
  const max = deps.config.api.maxLiveExperimentsPerTenant;
  const active = (await store.list(tenantId)).filter((e) => ACTIVE_EXPERIMENT_STATES.includes(e.state)).length;
  if (active >= max) {
    throw new AppError(
      'TOO_MANY_EXPERIMENTS',
      `A tenant may have ${max} experiments rendering, live or paused (MAX_LIVE_EXPERIMENTS_PER_TENANT); stop one first.`,
      { limit: max, active },
    );
  }
}

/**
 * Create an experiment: check it, then render every variant of every SKU as one catalog batch
 * (same lane and controls as any catalog), to immutable renditions only: no SKU's stable URL
 * changes until a winner is promoted. Line `v * skus + s + 1` is variant `v` of SKU `s`.
 */
export async function createExperiment(
  deps: ApiDeps,
  store: ExperimentStore,
  tenantId: string,
  body: CreateExperimentBody,
): Promise<Experiment> {
  const ids = body.variants.map((v) => v.id);
  if (new Set(ids).size !== ids.length) throw invalid('Variant ids must be unique.');
  if (body.variants.filter((v) => v.control).length !== 1) throw invalid('Mark exactly one variant `control: true`.');
  await checkQuota(deps, store, tenantId);
  const variants: ExperimentVariant[] = body.variants.map((v) => {
    const recipe = variantRecipe(v, body.options);
    const template = appliedTemplate(recipe);
    return { id: v.id, weight: v.weight, control: v.control, recipe, ...(template ? { template } : {}) };
  });
  // Each variant's steps and template (params applied) are checked for the tenant before any SKU is looked at.
  for (const v of variants) await prefixed(v.id, async () => resolveGenerate(deps, tenantId, validateRecipe(v.recipe as Recipe)));
  const skus = await resolveSkus(deps, tenantId, body);
  const items: BatchItemInput[] = variants.flatMap((v) =>
    skus.map((s) => ({ sku: s.sku, assetId: s.assetId, recipe: v.recipe, publish: false as const })),
  );
  // Checked whole before anything is queued: a line that cannot run refuses the experiment.
  for (const [i, item] of items.entries()) await prefixed(variants[Math.floor(i / skus.length)]!.id, async () => checkItem(item));
  const id = `exp_${randomUUID().replaceAll('-', '')}`;
  const submission = await submitBatchItems(deps.batches.lane, tenantId, items, `experiment:${id}`);
  const experiment: Experiment = {
    id,
    tenantId,
    name: body.name,
    createdAt: new Date().toISOString(),
    state: 'rendering',
    skus,
    variants,
    ...(body.visitorCookie ? { visitorCookie: body.visitorCookie } : {}),
    plan: { ...body.plan, visitorsPerVariant: plannedSampleSize(body.plan, variants.length - 1) },
    batchId: submission.batch.id,
  };
  await store.put(experiment);
  return experiment;
}
