/**
 * Push a folder of product photos; each file's name (without extension) is its SKU.
 *
 *   PIPELINE_URL=https://images.example.com PIPELINE_API_KEY=pk_… \
 *     npx tsx examples/push-folder.ts ./photos [--wait] [--recipe recipe.json]
 *
 * Prints one JSON line per photo ({ file, sku, assetId, runId, state, manifestUrl }) and exits 1
 * when any photo was refused or its run failed. In your own project, import
 * '@product-image-pipeline/client' instead of the relative path.
 */
import { realpathSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPipelineClient, PipelineError, type PipelineClient, type Recipe } from '../client/src/index.js';

const PHOTO = /\.(jpe?g|png|webp|avif|heic|heif|tiff?|gif)$/i;
/** Uploads in flight at once: enough to keep the API busy without tripping its upload rate limit. */
const CONCURRENCY = 4;

export interface PushResult {
  file: string;
  sku: string;
  assetId?: string;
  runId?: string;
  state: string;
  manifestUrl?: string;
  error?: string;
}

export async function pushFolder(
  client: PipelineClient,
  folder: string,
  options: { wait?: boolean; recipe?: Recipe } = {},
): Promise<PushResult[]> {
  const files = (await readdir(folder)).filter((f) => PHOTO.test(f)).sort();
  const results: PushResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const sku = path.parse(file).name;
      try {
        const { asset, run } = await client.uploadAsset(path.join(folder, file), {
          sku,
          ...(options.recipe ? { recipe: options.recipe } : {}),
        });
        const final = options.wait ? await client.waitForRun(run.id) : run;
        results.push({
          file,
          sku,
          assetId: asset.id,
          runId: run.id,
          state: final.state,
          ...(final.outputs ? { manifestUrl: final.outputs.manifestUrl } : {}),
          ...(final.error ? { error: final.error.code } : {}),
        });
      } catch (err) {
        results.push({ file, sku, state: 'refused', error: err instanceof PipelineError ? `${err.code}: ${err.message}` : String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
  return results.sort((a, b) => a.file.localeCompare(b.file));
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { wait: { type: 'boolean' }, recipe: { type: 'string' } } });
  const folder = positionals[0];
  const { PIPELINE_URL, PIPELINE_API_KEY } = process.env;
  if (!folder || !PIPELINE_URL || !PIPELINE_API_KEY)
    throw new Error('usage: PIPELINE_URL=… PIPELINE_API_KEY=… push-folder.ts <folder> [--wait] [--recipe file.json]');
  const client = createPipelineClient({ baseUrl: PIPELINE_URL, apiKey: PIPELINE_API_KEY });
  const recipe = values.recipe ? (JSON.parse(await readFile(values.recipe, 'utf8')) as Recipe) : undefined;
  const results = await pushFolder(client, folder, { wait: values.wait ?? false, ...(recipe ? { recipe } : {}) });
  for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
  if (results.some((r) => r.state === 'refused' || r.state === 'failed')) process.exitCode = 1;
}

if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) await main();
