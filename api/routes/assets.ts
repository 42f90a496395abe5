import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isValidId, manifestKey, originalKey } from '../../cdn/keys.js';
import { takedownAsset } from '../../workers/takedown.js';
import { notFound } from '../../lib/errors.js';
import { recipeSchema } from '../../workers/recipe.js';
import { assetIdFor, type AssetRecord } from '../asset-store.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { inspectImage } from '../inspect-image.js';
import { EXTENSIONS } from '../../lib/image-format.js';
import type { ResolvedRecipe } from '../resolve-generate.js';
import { assetSchema, errorBodySchema, idParams, runSchema } from '../schemas.js';
import { parseRecipeField, parseSkuField, prepareRun, publicRun, startRun } from '../start-run.js';
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
        // Everything that can refuse the upload runs before anything is stored or enqueued.
        const recipe = parseRecipeField(upload.fields.recipe);
        const sku = parseSkuField(upload.fields.sku);
        const { maxInputPixels, maxInputFrames, decodeTimeoutSeconds } = deps.config.workers;
        // The recipe is checked against the header's dimensions, before the costly decode.
        let valid!: ResolvedRecipe;
        const image = await inspectImage(upload.path, { maxPixels: maxInputPixels, maxFrames: maxInputFrames, decodeTimeoutSeconds }, async (header) => {
          valid = await prepareRun(deps, tenantId, recipe, header);
        });
        const key = originalKey(tenantId, upload.sha256, EXTENSIONS[image.format]);
        const contentReused = (await deps.storage.head(key)) !== undefined;
        if (!contentReused) {
          await deps.storage.put(key, createReadStream(upload.path), { contentType: `image/${image.format}`, cacheControl: 'private, no-store' });
        }
        const record: AssetRecord = {
          id: assetIdFor(tenantId, upload.sha256),
          tenantId,
          ...(sku ? { sku } : {}),
          original: { key, sha256: upload.sha256, format: image.format, width: image.width, height: image.height, bytes: upload.bytes, ...(upload.filename ? { filename: upload.filename } : {}) },
          createdAt: new Date().toISOString(),
        };
        const { asset } = await deps.assets.getOrCreate(record);
        const run = await startRun(deps, asset, recipe, valid, request.log);
        deps.metrics.bytesIn.inc(upload.bytes);
        return reply.code(202).send({ asset: publicAsset(asset), run: publicRun(run), reused: contentReused });
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
    schema: { summary: 'Start a run of a recipe on an asset', params: idParams, body: recipeSchema, response: { 202: runSchema, ...errors } },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const asset = await deps.assets.get(tenantId, request.params.id);
      if (!asset) throw notFound('Asset');
      const run = await startRun(deps, asset, request.body, await prepareRun(deps, tenantId, request.body, asset.original), request.log);
      return reply.code(202).send(publicRun(run));
    },
  });
}

/** Storage keys stay internal; clients see the asset, not where we keep it. */
const publicAsset = ({ tenantId: _t, original: { key: _k, ...original }, ...asset }: AssetRecord) => ({ ...asset, original });
