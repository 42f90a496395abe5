import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Logger } from '../../lib/logger.js';
import { fetchPublicUrl } from '../../lib/safe-fetch.js';
import { parseRecipe, recipeInputSchema, validateRecipe } from '../../workers/recipe.js';
import type { RunRecord } from '../../workers/run-store.js';
import { admitOriginal, withSpooledBytes, type AdmissionDeps } from '../admission.js';
import type { AssetRecord } from '../../records/asset-store.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { assetSchema, errorBodySchema, runSchema } from '../schemas.js';
import { parseSkuField, publicRun } from '../start-run.js';

/** What storing an original and starting its run needs; the API and the bucket inbox both have it. */
export type IngestDeps = AdmissionDeps;

/**
 * Accept image bytes from somewhere other than a multipart upload (a URL, a bucket inbox) exactly
 * as an upload is accepted: spooled to a temporary file, hashed, then through `admitOriginal`.
 */
export async function ingestOriginal(
  deps: IngestDeps,
  input: { tenantId: string; bytes: Buffer; recipe?: unknown; sku?: string; filename?: string },
  log?: Pick<Logger, 'info'>,
): Promise<{ asset: AssetRecord; run: RunRecord; reused: boolean }> {
  const { tenantId, bytes } = input;
  return withSpooledBytes(bytes, input.filename, (file) =>
    admitOriginal(deps, { tenantId, file, recipe: input.recipe, ...(input.sku !== undefined ? { sku: input.sku } : {}) }, log),
  );
}

const errors = Object.fromEntries([400, 401, 413, 415, 422, 502, 504].map((s) => [s, errorBodySchema]));

/** `POST /v1/assets/from-url`: fetch an original from a public URL and start its run, like an upload. */
export function ingestRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { urlFetch } = deps.connectors.config;

  r.post('/v1/assets/from-url', {
    preHandler: [requireTenant(deps.tenants), app.idempotent],
    schema: {
      summary: 'Fetch an original from a public URL and start its first run',
      description:
        'The URL must be http(s) and resolve to a public address (checked on connect and at every redirect). ' +
        'The bytes are inspected exactly like an upload, with the same limits.',
      body: z.object({ url: z.string().min(1).max(2048), recipe: recipeInputSchema.optional(), sku: z.string().optional() }).strict(),
      response: { 202: z.object({ asset: assetSchema, run: runSchema, reused: z.boolean(), finalUrl: z.string() }), ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const { recipe, sku } = request.body;
      // Refuse a bad recipe or SKU before fetching anything; admission checks them again with the image.
      validateRecipe(parseRecipe(recipe, 'The `recipe`'));
      parseSkuField(sku);
      const fetched = await fetchPublicUrl(request.body.url, {
        ...deps.connectors.guard,
        maxBytes: deps.config.api.maxUploadBytes,
        timeoutMs: urlFetch.timeoutMs,
        maxRedirects: urlFetch.maxRedirects,
      });
      const filename = path.posix.basename(new URL(fetched.finalUrl).pathname).slice(0, 200) || undefined;
      const { asset, run, reused } = await ingestOriginal(
        deps,
        { tenantId, bytes: fetched.bytes, recipe, ...(sku !== undefined ? { sku } : {}), filename },
        request.log,
      );
      deps.metrics.bytesIn.inc(fetched.bytes.length);
      const {
        tenantId: _t,
        original: { key: _k, ...original },
        ...rest
      } = asset;
      return reply.code(202).send({ asset: { ...rest, original }, run: publicRun(run), reused, finalUrl: fetched.finalUrl });
    },
  });
}

/** {@link ingestOriginal} bound to its dependencies: how the bucket inbox (workers/inbox.ts) admits an object. */
export const ingestInto = (deps: IngestDeps) => (input: { tenantId: string; bytes: Buffer; filename: string }) =>
  ingestOriginal(deps, input);
