import { createReadStream } from 'node:fs';
import { originalKey } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import type { AppConfig } from '../lib/config.js';
import { badInput } from '../lib/errors.js';
import { EXTENSIONS } from '../lib/image-format.js';
import type { Logger } from '../lib/logger.js';
import type { Queues } from '../workers/queues.js';
import { parseRecipe } from '../workers/recipe.js';
import type { RunRecord, RunStore } from '../workers/run-store.js';
import { assetIdFor, type AssetRecord, type AssetStore } from './asset-store.js';
import { inspectImage } from './inspect-image.js';
import type { GenerateResolverDeps, ResolvedRecipe } from './resolve-generate.js';
import { parseSkuField, prepareRun, startRun } from './start-run.js';

/** What admitting an original and starting its run needs: the API has it all; the bucket inbox builds the same. */
export interface AdmissionDeps extends GenerateResolverDeps {
  config: AppConfig;
  storage: ObjectStorage;
  assets: AssetStore;
  runs: RunStore;
  queues: Queues;
}

/** An original received whole on local disk and hashed: an upload, a fetched URL, an inbox object. */
export interface ReceivedOriginal {
  path: string;
  bytes: number;
  sha256: string;
  filename?: string;
}

/**
 * The one way an original and its first run are admitted, whatever brought them (upload, URL,
 * bucket inbox), so the same fault gets the same status and code from each: the recipe read by
 * `parseRecipe`, the SKU checked, the image inspected with the recipe judged against its header
 * (before the costly decode) and its generate step resolved for the tenant. Only then is the
 * content-addressed original stored, the asset made and the run enqueued: a refusal leaves nothing.
 */
export async function admitOriginal(
  deps: AdmissionDeps,
  input: { tenantId: string; file: ReceivedOriginal; recipe?: unknown; sku?: string },
  log?: Pick<Logger, 'info'>,
): Promise<{ asset: AssetRecord; run: RunRecord; reused: boolean }> {
  const { tenantId, file } = input;
  const { maxUploadBytes } = deps.config.api;
  if (file.bytes === 0) throw badInput('EMPTY_UPLOAD', 'The image is empty.');
  if (file.bytes > maxUploadBytes) throw badInput('UPLOAD_TOO_LARGE', `The image exceeds the limit of ${maxUploadBytes} bytes.`, { maxBytes: maxUploadBytes });
  const recipe = parseRecipe(input.recipe, 'The `recipe`');
  const sku = parseSkuField(input.sku);
  const { maxInputPixels, maxInputFrames, decodeTimeoutSeconds } = deps.config.workers;
  let resolved!: ResolvedRecipe;
  const image = await inspectImage(file.path, { maxPixels: maxInputPixels, maxFrames: maxInputFrames, decodeTimeoutSeconds }, async (header) => {
    resolved = await prepareRun(deps, tenantId, recipe, header);
  });
  const key = originalKey(tenantId, file.sha256, EXTENSIONS[image.format]);
  const reused = (await deps.storage.head(key)) !== undefined;
  if (!reused) await deps.storage.put(key, createReadStream(file.path), { contentType: `image/${image.format}`, cacheControl: 'private, no-store' });
  const record: AssetRecord = {
    id: assetIdFor(tenantId, file.sha256),
    tenantId,
    ...(sku ? { sku } : {}),
    original: { key, sha256: file.sha256, format: image.format, width: image.width, height: image.height, bytes: file.bytes, ...(file.filename ? { filename: file.filename } : {}) },
    createdAt: new Date().toISOString(),
  };
  const { asset } = await deps.assets.getOrCreate(record);
  const run = await startRun(deps, asset, recipe, resolved, log);
  return { asset, run, reused };
}
