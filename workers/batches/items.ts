import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SKU_PATTERN } from '../../cdn/keys.js';
import { canonicalJson } from '../../lib/canonical-json.js';
import { AppError, type ErrorCode } from '../../lib/errors.js';
import { jsonDeeperThan, MAX_JSON_DEPTH } from '../../lib/json-depth.js';
import { renderStepOptionsSchema } from '../jobs/render.js';
import { DEFAULT_RECIPE, parseRecipe, validateRecipe, type Recipe } from '../recipe.js';

/** Where an item's image comes from. */
export type BatchSource =
  | { kind: 'asset'; assetId: string }
  | { kind: 'url'; url: string }
  /** A key under the tenant's inbox, relative to it: `inbox/<path>` is `t/<tenant>/inbox/<path>`. */
  | { kind: 'inbox'; key: string };

/** One catalog item, checked. */
export interface BatchItem {
  sku: string;
  source: BatchSource;
  recipe: Recipe;
  /**
   * False: render only, to immutable rendition URLs; the asset's manifest and stable URLs are left
   * as they are (an experiment's variants). Absent means published as usual.
   */
  publish?: false;
}

/** An item as another module hands it over (a template change re-rendering a catalog). */
export interface BatchItemInput {
  sku: string;
  /** An asset id of the tenant, an http(s) URL, or `inbox/<path>`. */
  source?: string;
  /** Shorthand for `source` when it is an asset id. */
  assetId?: string;
  recipe?: unknown;
  template?: string;
  options?: unknown;
  /** False: render without publishing (see {@link BatchItem.publish}). */
  publish?: false;
}

const ASSET_ID = /^ast_[0-9a-f]{32}$/;
const INBOX_KEY = /^inbox\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_URL_LENGTH = 2048;

const bad = (message: string, code: ErrorCode = 'INVALID_BATCH_ITEM') => new AppError(code, message);

export function parseSource(raw: unknown): BatchSource {
  if (typeof raw !== 'string' || raw.trim() === '') throw bad('`source` is required: an asset id, an http(s) URL or inbox/<path>.');
  const source = raw.trim();
  if (ASSET_ID.test(source)) return { kind: 'asset', assetId: source };
  if (/^https?:\/\//i.test(source)) {
    if (source.length > MAX_URL_LENGTH) throw bad(`A source URL is at most ${MAX_URL_LENGTH} characters.`);
    try {
      return { kind: 'url', url: new URL(source).href };
    } catch {
      throw bad('`source` is not a valid URL.');
    }
  }
  if (INBOX_KEY.test(source) && !source.split('/').includes('..')) return { kind: 'inbox', key: source };
  throw bad('`source` must be an asset id (ast_…), an http(s) URL or inbox/<path>.');
}

/** A JSON column arrives as text in CSV and as a value in JSON Lines. */
function jsonField(raw: unknown, name: string): unknown {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') return raw;
  const code = name === 'recipe' ? 'INVALID_RECIPE' : 'INVALID_BATCH_ITEM';
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw bad(`\`${name}\` is not valid JSON.`, code);
  }
  if (jsonDeeperThan(value)) throw bad(`\`${name}\` nests JSON deeper than ${MAX_JSON_DEPTH} levels.`, code);
  return value;
}

/** The recipe a `template` stands for: cut out, lay out in the template's scene, render. */
export const templateRecipe = (template: string): Recipe => ({
  steps: [{ name: 'remove-background' }, { name: 'generate', options: { template } }, { name: 'render' }],
});

function buildRecipe(fields: BatchItemInput): Recipe {
  const recipeJson = jsonField(fields.recipe, 'recipe');
  const template = typeof fields.template === 'string' ? fields.template.trim() : fields.template;
  if (recipeJson !== undefined && template) throw bad('Give `recipe` or `template`, not both.', 'INVALID_RECIPE');
  let recipe: Recipe;
  if (template) {
    if (typeof template !== 'string') throw bad('`template` is a template name.', 'INVALID_RECIPE');
    recipe = templateRecipe(template);
  } else if (recipeJson !== undefined) {
    recipe = parseRecipe(recipeJson, '`recipe`');
  } else {
    recipe = DEFAULT_RECIPE;
  }
  const options = jsonField(fields.options, 'options');
  if (options === undefined) return recipe;
  // `options` refine the render step (widths, formats), whichever recipe the item names.
  const parsed = renderStepOptionsSchema.safeParse(options);
  if (!parsed.success) throw bad(`Invalid options (render widths, formats): ${z.prettifyError(parsed.error)}`, 'INVALID_RECIPE');
  return {
    steps: recipe.steps.map((s) => (s.name === 'render' ? { ...s, options: { ...s.options, ...parsed.data } } : s)),
  };
}

/**
 * Check one catalog item: a SKU, a source of a known kind and a recipe every step of which is
 * available. Throws a 422 `AppError` whose code and message are reported against the line.
 */
export function checkItem(fields: BatchItemInput): BatchItem {
  const sku = typeof fields.sku === 'string' ? fields.sku.trim() : '';
  if (!SKU_PATTERN.test(sku)) throw bad('`sku` is 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit.');
  const source = parseSource(fields.source ?? fields.assetId);
  const recipe = buildRecipe(fields);
  validateRecipe(recipe);
  return { sku, source, recipe, ...(fields.publish === false ? { publish: false as const } : {}) };
}

/** What identifies a source for de-duplication: its content for assets (the id hashes the bytes), its address otherwise. */
const sourceIdentity = (source: BatchSource): string =>
  source.kind === 'asset' ? source.assetId : source.kind === 'url' ? `url:${source.url}` : `inbox:${source.key}`;

/** The item's identity: the same (tenant, SKU, source, recipe) is the same work, whichever batch asks. */
export function itemKey(tenantId: string, item: BatchItem): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        tenantId,
        sku: item.sku,
        source: sourceIdentity(item.source),
        recipe: item.recipe,
        ...(item.publish === false ? { publish: false } : {}),
      }),
    )
    .digest('hex')
    .slice(0, 40);
}
