import { createHash, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { originalKey } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import type { AppConfig } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { fetchPublicUrl } from '../../lib/safe-fetch.js';
import { enqueueRun, type Queues } from '../../workers/queues.js';
import { checkOutputSize, DEFAULT_RECIPE, recipeSchema, validateRecipe, type Recipe } from '../../workers/recipe.js';
import type { RunRecord, RunStore } from '../../workers/run-store.js';
import { assetIdFor, type AssetRecord, type AssetStore } from '../asset-store.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { inspectImage } from '../inspect-image.js';
import { EXTENSIONS } from '../../lib/image-format.js';
import { assetSchema, errorBodySchema, runSchema } from '../schemas.js';
import { parseSkuField, publicRun } from '../start-run.js';

/** What storing an original and starting its run needs; the API and the bucket inbox both have it. */
export interface IngestDeps {
  config: AppConfig;
  storage: ObjectStorage;
  assets: AssetStore;
  runs: RunStore;
  queues: Queues;
}

/**
 * Accept image bytes from somewhere other than a multipart upload (a URL, a bucket inbox) exactly
 * as an upload is accepted: the same inspection and limits, the same content-addressed original
 * and asset, then a run. Everything that can refuse runs before anything is stored.
 */
export async function ingestOriginal(
  deps: IngestDeps,
  input: { tenantId: string; bytes: Buffer; recipe?: Recipe; sku?: string; filename?: string },
): Promise<{ asset: AssetRecord; run: RunRecord; reused: boolean }> {
  const { tenantId, bytes } = input;
  const { maxInputPixels, maxInputFrames, decodeTimeoutSeconds, maxOutputPixels } = deps.config.workers;
  if (bytes.length === 0) throw new AppError(400, 'EMPTY_UPLOAD', 'The fetched object is empty.');
  if (bytes.length > deps.config.api.maxUploadBytes) {
    throw new AppError(413, 'UPLOAD_TOO_LARGE', `The image exceeds the limit of ${deps.config.api.maxUploadBytes} bytes.`, { maxBytes: deps.config.api.maxUploadBytes });
  }
  const recipe = input.recipe ?? DEFAULT_RECIPE;
  const tempPath = path.join(tmpdir(), `ingest-${randomUUID()}`);
  try {
    await writeFile(tempPath, bytes);
    const valid = validateRecipe(recipe);
    // The recipe is checked against the header's dimensions, before the costly decode.
    const image = await inspectImage(tempPath, { maxPixels: maxInputPixels, maxFrames: maxInputFrames, decodeTimeoutSeconds }, (header) => checkOutputSize(header, valid, maxOutputPixels));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = originalKey(tenantId, sha256, EXTENSIONS[image.format]);
    const reused = (await deps.storage.head(key)) !== undefined;
    if (!reused) await deps.storage.put(key, bytes, { contentType: `image/${image.format}`, cacheControl: 'private, no-store' });
    const record: AssetRecord = {
      id: assetIdFor(tenantId, sha256),
      tenantId,
      ...(input.sku ? { sku: input.sku } : {}),
      original: { key, sha256, format: image.format, width: image.width, height: image.height, bytes: bytes.length, ...(input.filename ? { filename: input.filename } : {}) },
      createdAt: new Date().toISOString(),
    };
    const { asset } = await deps.assets.getOrCreate(record);
    const run = await enqueueRun(
      { queues: deps.queues, runs: deps.runs, config: deps.config.workers },
      { tenantId, assetId: asset.id, source: asset.original, recipe, valid, ...(asset.sku ? { sku: asset.sku } : {}) },
    );
    return { asset, run, reused };
  } finally {
    await rm(tempPath, { force: true });
  }
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
      body: z.object({ url: z.string().min(1).max(2048), recipe: recipeSchema.optional(), sku: z.string().optional() }).strict(),
      response: { 202: z.object({ asset: assetSchema, run: runSchema, reused: z.boolean(), finalUrl: z.string() }), ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const sku = parseSkuField(request.body.sku);
      // Refuse a bad recipe before fetching anything.
      if (request.body.recipe) validateRecipe(request.body.recipe);
      const fetched = await fetchPublicUrl(request.body.url, {
        ...deps.connectors.guard,
        maxBytes: deps.config.api.maxUploadBytes,
        timeoutMs: urlFetch.timeoutMs,
        maxRedirects: urlFetch.maxRedirects,
      });
      const filename = path.posix.basename(new URL(fetched.finalUrl).pathname).slice(0, 200) || undefined;
      const { asset, run, reused } = await ingestOriginal(deps, { tenantId, bytes: fetched.bytes, recipe: request.body.recipe, sku, filename });
      deps.metrics.bytesIn.inc(fetched.bytes.length);
      const { tenantId: _t, original: { key: _k, ...original }, ...rest } = asset;
      return reply.code(202).send({ asset: { ...rest, original }, run: publicRun(run), reused, finalUrl: fetched.finalUrl });
    },
  });
}
