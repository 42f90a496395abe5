import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isValidId, manifestKey } from '../../cdn/keys.js';
import { takedownAsset } from '../../workers/takedown.js';
import { notFound } from '../../lib/errors.js';
import { parseRecipe, recipeInputSchema } from '../../workers/recipe.js';
import { admitOriginal } from '../admission.js';
import type { AssetRecord } from '../asset-store.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { assetSchema, errorBodySchema, idParams, runSchema } from '../schemas.js';
import { prepareRun, publicRun, startRun } from '../start-run.js';
import { receiveUpload } from '../upload.js';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 408: errorBodySchema, 413: errorBodySchema, 415: errorBodySchema, 422: errorBodySchema };

export function assetRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireTenant(deps.tenants);

  r.post('/v1/assets', {
    preHandler: [auth, app.idempotent],
    schema: {
      summary: 'Upload an original and start its first run',
      description:
        'multipart/form-data with one `file` part (JPEG, PNG, WebP, AVIF, HEIC, TIFF or GIF) and, before it, optional ' +
        '`recipe` (JSON) and `sku` text fields. The same bytes uploaded again reuse the stored original and asset.',
      consumes: ['multipart/form-data'],
      response: { 202: z.object({ asset: assetSchema, run: runSchema, reused: z.boolean() }), ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const upload = await receiveUpload(request, { maxBytes: deps.config.api.maxUploadBytes, tmpDir: deps.config.api.uploadTmpDir });
      try {
        const { asset, run, reused } = await admitOriginal(deps, { tenantId, file: upload, recipe: upload.fields.recipe, sku: upload.fields.sku }, request.log);
        deps.metrics.bytesIn.inc(upload.bytes);
        return reply.code(202).send({ asset: publicAsset(asset), run: publicRun(run), reused });
      } finally {
        await upload.cleanup();
      }
    },
  });

  r.get('/v1/assets/:id', {
    preHandler: auth,
    schema: { summary: 'An asset, its latest manifest and its runs', params: idParams, response: { 200: assetSchema, ...errors } },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const asset = await deps.assets.get(tenantId, request.params.id);
      if (!asset) throw notFound('Asset');
      const key = manifestKey(tenantId, asset.id);
      const [manifest, runIds] = await Promise.all([deps.storage.get(key), deps.runs.runIdsOfAsset(tenantId, asset.id)]);
      return {
        ...publicAsset(asset),
        runIds,
        ...(manifest ? { manifest: JSON.parse(manifest.toString('utf8')) as unknown, manifestUrl: deps.urlFor(key) } : {}),
      };
    },
  });

  r.delete('/v1/assets/:id', {
    preHandler: auth,
    schema: {
      summary: 'Take an asset down',
      description:
        'Cancels its queued and running runs (they publish nothing), removes its original, manifest, stable URLs ' +
        '(`latest/`, channels, its objects under every SKU it held) and every rendition set it published, then purges ' +
        'all of it from the CDN by surrogate key and URL. Idempotent: deleting an asset already gone answers 204 too. ' +
        'The same bytes may be uploaded again afterwards, as a new asset.',
      params: idParams,
      response: { 204: z.null(), ...errors },
    },
    handler: async (request, reply) => {
      if (!isValidId(request.params.id)) throw notFound('Asset');
      const result = await takedownAsset(deps.takedown, tenantOf(request), request.params.id);
      request.log.info({ assetId: request.params.id, ...result }, 'asset taken down');
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/assets/:id/runs', {
    preHandler: [auth, app.idempotent],
    schema: { summary: 'Start a run of a recipe on an asset', params: idParams, body: recipeInputSchema, response: { 202: runSchema, ...errors } },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const asset = await deps.assets.get(tenantId, request.params.id);
      if (!asset) throw notFound('Asset');
      const recipe = parseRecipe(request.body);
      const run = await startRun(deps, asset, recipe, await prepareRun(deps, tenantId, recipe, asset.original), request.log);
      return reply.code(202).send(publicRun(run));
    },
  });
}

/** Storage keys stay internal; clients see the asset, not where we keep it. */
const publicAsset = ({ tenantId: _t, original: { key: _k, ...original }, ...asset }: AssetRecord) => ({ ...asset, original });
