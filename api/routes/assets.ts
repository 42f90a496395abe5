import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isValidId, manifestKey, SKU_PATTERN } from '../../cdn/keys.js';
import { decodeCursor, encodeCursor } from '../../lib/cursor.js';
import { takedownAsset } from '../../workers/takedown.js';
import { notFound } from '../../lib/errors.js';
import { parseRecipe, recipeInputSchema } from '../../workers/recipe.js';
import { admitOriginal } from '../admission.js';
import type { AssetRecord } from '../../records/asset-store.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import { conditionalRead, notModifiedSchema, withEtag } from '../conditional.js';
import { assetSchema, errorBodySchema, idParams, runSchema } from '../schemas.js';
import { prepareRun, publicRun, startRun } from '../start-run.js';
import { receiveUpload } from '../upload.js';

const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
  408: errorBodySchema,
  413: errorBodySchema,
  415: errorBodySchema,
  422: errorBodySchema,
};

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
        const { asset, run, reused } = await admitOriginal(
          deps,
          { tenantId, file: upload, recipe: upload.fields.recipe, sku: upload.fields.sku },
          request.log,
        );
        deps.metrics.bytesIn.inc(upload.bytes);
        return reply.code(202).send({ asset: publicAsset(asset), run: publicRun(run), reused });
      } finally {
        await upload.cleanup();
      }
    },
  });

  r.get('/v1/assets', {
    preHandler: auth,
    schema: {
      summary: "The tenant's assets, newest first; by SKU with `sku`",
      description:
        'Pages by cursor: pass `next_cursor` back as `cursor` until it is null. Assets uploaded during the walk never make it ' +
        'skip or repeat an older one. With `sku`, the assets whose current SKU it is (an asset moved to another SKU is not listed). ' +
        "While a large tenant's list index is rebuilt from storage (after a deploy or a lost Redis), 503 `ASSET_INDEX_BUILDING` " +
        'with `Retry-After`: retry then.',
      querystring: pageQuery.extend({ sku: z.string().regex(SKU_PATTERN).optional().describe('Only the assets under this SKU.') }),
      response: { 200: z.object({ assets: z.array(assetSchema), next_cursor: nextCursorField }), ...errors },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const { sku, limit, cursor } = request.query;
      const scope = `${tenantId}\n${sku ?? ''}`;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'assets', scope, assetPosition);
      const page = await deps.assets.list(tenantId, { limit, ...(sku !== undefined ? { sku } : {}), ...(after ? { after } : {}) });
      return { assets: page.items.map(publicAsset), next_cursor: page.next ? encodeCursor('assets', scope, page.next) : null };
    },
  });

  r.get('/v1/assets/:id', {
    preHandler: auth,
    onSend: conditionalRead,
    schema: {
      summary: 'An asset, its latest manifest and its runs',
      params: idParams,
      response: { 200: withEtag(assetSchema), 304: notModifiedSchema, ...errors },
    },
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
      const asset = await deps.assets.get(tenantOf(request), request.params.id);
      const result = await takedownAsset(deps.takedown, tenantOf(request), request.params.id);
      // After the takedown: a list read meanwhile finds the record gone and skips the entry anyway.
      if (asset) await deps.assets.unindex(asset);
      request.log.info({ assetId: request.params.id, ...result }, 'asset taken down');
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/assets/:id/runs', {
    preHandler: [auth, app.idempotent],
    schema: {
      summary: 'Start a run of a recipe on an asset',
      params: idParams,
      body: recipeInputSchema,
      response: { 202: runSchema, ...errors },
    },
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

/** A cursor's position in `GET /v1/assets`: the last asset's creation time and id. */
const assetPosition = z
  .object({
    createdAt: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    id: z.string().regex(/^ast_[0-9a-f]{32}$/),
  })
  .strict();

/** Storage keys stay internal; clients see the asset, not where we keep it. */
const publicAsset = ({ tenantId: _t, original: { key: _k, ...original }, ...asset }: AssetRecord) => ({ ...asset, original });
