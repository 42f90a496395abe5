import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { originalKey } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import type { AppConfig } from './deps.js';
import { AppError } from '../lib/errors.js';
import { EXTENSIONS } from '../lib/image-format.js';
import type { Logger } from '../lib/logger.js';
import type { Queues } from '../workers/queues.js';
import { parseRecipe } from '../workers/recipe.js';
import type { RunRecord, RunStore } from '../workers/run-store.js';
import { assetIdFor, type AssetRecord, type AssetStore } from '../records/asset-store.js';
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

/** What storing an original is checked against (the API's and the workers' settings). */
export interface OriginalLimits {
  maxUploadBytes: number;
  /** MAX_INPUT_PIXELS, MAX_INPUT_FRAMES, DECODE_TIMEOUT_SECONDS (`decodeLimits` of the workers' config). */
  decode: { maxPixels: number; maxFrames: number; timeoutSeconds: number };
}

/**
 * Store an original the one way, whatever brought it (upload, URL, bucket inbox, catalog source):
 * its size checked, the image inspected (`beforeDecode` judges the header first: a recipe, say),
 * then the content-addressed original stored and the asset made. A refusal leaves nothing.
 */
export async function storeOriginal(
  deps: { storage: ObjectStorage; assets: AssetStore; limits: OriginalLimits },
  tenantId: string,
  file: ReceivedOriginal,
  options: { sku?: string; beforeDecode?: (header: { width: number; height: number }) => Promise<void> } = {},
): Promise<{ asset: AssetRecord; reused: boolean }> {
  const { limits } = deps;
  if (file.bytes === 0) throw new AppError('EMPTY_UPLOAD', 'The image is empty.');
  if (file.bytes > limits.maxUploadBytes)
    throw new AppError('UPLOAD_TOO_LARGE', `The image exceeds the limit of ${limits.maxUploadBytes} bytes.`, {
      maxBytes: limits.maxUploadBytes,
    });
  const image = await inspectImage(
    file.path,
    { maxPixels: limits.decode.maxPixels, maxFrames: limits.decode.maxFrames, decodeTimeoutSeconds: limits.decode.timeoutSeconds },
    options.beforeDecode,
  );
  const key = originalKey(tenantId, file.sha256, EXTENSIONS[image.format]);
  const reused = (await deps.storage.head(key)) !== undefined;
  if (!reused)
    await deps.storage.put(key, createReadStream(file.path), { contentType: `image/${image.format}`, cacheControl: 'private, no-store' });
  const record: AssetRecord = {
    id: assetIdFor(tenantId, file.sha256),
    tenantId,
    ...(options.sku ? { sku: options.sku } : {}),
    original: {
      key,
      sha256: file.sha256,
      format: image.format,
      width: image.width,
      height: image.height,
      bytes: file.bytes,
      ...(file.filename ? { filename: file.filename } : {}),
    },
    createdAt: new Date().toISOString(),
  };
  const { asset } = await deps.assets.getOrCreate(record);
  return { asset, reused };
}

/** Bytes held in memory (a fetched URL, an inbox object), spooled to a temporary file and hashed for `fn`, then removed. */
export async function withSpooledBytes<T>(
  bytes: Buffer,
  filename: string | undefined,
  fn: (file: ReceivedOriginal) => Promise<T>,
): Promise<T> {
  const tempPath = path.join(tmpdir(), `original-${randomUUID()}`);
  try {
    await writeFile(tempPath, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return await fn({ path: tempPath, bytes: bytes.length, sha256, ...(filename ? { filename } : {}) });
  } finally {
    await rm(tempPath, { force: true });
  }
}

/**
 * The one way an original and its first run are admitted, whatever brought them (upload, URL,
 * bucket inbox), so the same fault gets the same status and code from each: the recipe read by
 * `parseRecipe`, the SKU checked, the recipe judged against the image's header (before the costly
 * decode) and its generate step resolved for the tenant, the original stored, then the run enqueued.
 */
export async function admitOriginal(
  deps: AdmissionDeps,
  input: { tenantId: string; file: ReceivedOriginal; recipe?: unknown; sku?: string },
  log?: Pick<Logger, 'info'>,
): Promise<{ asset: AssetRecord; run: RunRecord; reused: boolean }> {
  const { tenantId, file } = input;
  const recipe = parseRecipe(input.recipe, 'The `recipe`');
  const sku = parseSkuField(input.sku);
  const limits = { maxUploadBytes: deps.config.api.maxUploadBytes, decode: deps.config.workers.decodeLimits };
  let resolved!: ResolvedRecipe;
  const { asset, reused } = await storeOriginal({ storage: deps.storage, assets: deps.assets, limits }, tenantId, file, {
    ...(sku ? { sku } : {}),
    beforeDecode: async (header) => {
      resolved = await prepareRun(deps, tenantId, recipe, header);
    },
  });
  const run = await startRun(deps, asset, recipe, resolved, log);
  return { asset, run, reused };
}
