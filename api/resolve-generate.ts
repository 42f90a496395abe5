import { AppError } from '../lib/errors.js';
import { parseColour } from '../templates/colourway.js';
import { applyParams } from '../templates/params.js';
import type { GenerateJobOptions } from '../workers/catalogue.js';
import type { GenerateStepOptions } from '../workers/jobs/generate.js';
import { checkLayoutSize, type ValidRecipe } from '../workers/recipe.js';
import type { ApiDeps } from './deps.js';

/** What resolving a generate step reads: the API has it all; the catalog lane builds the same. */
export interface GenerateResolverDeps {
  templates: Pick<ApiDeps['templates'], 'get'>;
  assets: Pick<ApiDeps['assets'], 'get'>;
  config: { workers: { maxOutputPixels: number }; generator?: unknown };
}

/** A recipe ready to enqueue: its generate step (if any) resolved for the tenant. */
export interface ResolvedRecipe {
  valid: ValidRecipe;
}

/**
 * Resolve a recipe's `generate` step for a tenant before anything is enqueued: the template (the
 * tenant's own or a built-in) with the run's params applied, its channels checked against the
 * output limit, its colourway and backplate checked, and a generator template refused when no
 * generator is configured. Every refusal is a 422 with a stable code.
 */
export async function resolveGenerate(deps: GenerateResolverDeps, tenantId: string, valid: ValidRecipe): Promise<ResolvedRecipe> {
  const steps = await Promise.all(
    valid.steps.map(async (step) => {
      if (step.name !== 'generate') return step;
      const options = step.options as GenerateStepOptions;
      const stored = await deps.templates.get(tenantId, options.template);
      if (!stored) {
        throw new AppError('UNKNOWN_TEMPLATE', `No template "${options.template}" for this tenant (GET /v1/templates lists them).`, {
          template: options.template,
        });
      }
      const { template: applied, version: appliedVersion } = applyParams(stored.template, options.params);
      const channels = options.channels ?? applied.channels;
      checkLayoutSize(channels, deps.config.workers.maxOutputPixels);
      if (applied.backdrop.type === 'generator' && !deps.config.generator) {
        throw new AppError(
          'GENERATOR_NOT_CONFIGURED',
          `Template "${options.template}" needs the scene generator, and none is configured here (GENERATOR_MODEL_PATH).`,
          { template: options.template },
        );
      }
      if (options.colourway !== undefined) parseColour(options.colourway);
      let backplate: GenerateJobOptions['backplate'];
      if (applied.backdrop.type === 'backplate') {
        const assetId = applied.backdrop.assetId;
        if (!assetId) {
          throw new AppError(
            'INVALID_TEMPLATE',
            `Template "${options.template}" needs a backplate photo: set backdrop.assetId or params.backplate.`,
            {
              issues: [{ path: 'params.backplate', message: 'required by a backplate template without backdrop.assetId' }],
            },
          );
        }
        const asset = await deps.assets.get(tenantId, assetId);
        if (!asset)
          throw new AppError('INVALID_RECIPE', `The backplate asset ${assetId} does not exist for this tenant.`, { backplate: assetId });
        backplate = { key: asset.original.key, sha256: asset.original.sha256 };
      }
      const resolved: GenerateJobOptions = {
        templateId: stored.template.id,
        // The version of the template as applied (params included): what the renditions are made of.
        templateVersion: appliedVersion,
        template: applied as unknown as Record<string, unknown>,
        channels,
        ...(options.colourway !== undefined ? { colourway: options.colourway } : {}),
        ...(backplate ? { backplate } : {}),
      };
      return { name: step.name, options: resolved as unknown as Record<string, unknown> };
    }),
  );
  return { valid: { steps } };
}
