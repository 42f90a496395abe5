/**
 * Re-render a catalog from a shop's CSV export: each row's SKU and image URL become a catalog item
 * (POST /v1/batches), optionally with a scene template; waits for the batch, then prints one JSON
 * line per item ({ sku, state, manifestUrl }) from its results.
 *
 *   PIPELINE_URL=… PIPELINE_API_KEY=… npx tsx examples/rerender-catalog.ts products.csv \
 *     [--sku-column "Variant SKU"] [--image-column "Image Src"] [--template studio-white | --recipe recipe.json]
 *
 * Columns default to the first found of `sku`, `Variant SKU`, `SKU` and `image`, `Image Src`,
 * `image_url`. Rows without both are skipped (a Shopify export lists extra images on rows of their
 * own). Quoted fields may hold commas and quotes, not line breaks.
 */
import { createReadStream, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createPipelineClient, type BatchResultLine, type CatalogItem, type PipelineClient, type Recipe } from '../client/src/index.js';

const SKU_COLUMNS = ['sku', 'Variant SKU', 'SKU'];
const IMAGE_COLUMNS = ['image', 'Image Src', 'image_url'];

/** One CSV line's fields (RFC 4180 quoting). */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

export interface RerenderOptions {
  skuColumn?: string;
  imageColumn?: string;
  template?: string;
  recipe?: Recipe;
}

/** Catalog items from the export, read a line at a time. */
export async function* itemsFromExport(file: string, options: RerenderOptions = {}): AsyncGenerator<CatalogItem> {
  let sku = -1;
  let image = -1;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    const fields = csvFields(line);
    if (sku < 0) {
      const find = (wanted: string | undefined, defaults: string[]) =>
        fields.findIndex((f) => (wanted ? [wanted] : defaults).includes(f.trim()));
      [sku, image] = [find(options.skuColumn, SKU_COLUMNS), find(options.imageColumn, IMAGE_COLUMNS)];
      if (sku < 0 || image < 0) throw new Error(`${file}: no SKU or image column in its header (${fields.join(', ')})`);
      continue;
    }
    const [s, src] = [fields[sku]?.trim(), fields[image]?.trim()];
    if (s && src)
      yield {
        sku: s,
        source: src,
        ...(options.template ? { template: options.template } : {}),
        ...(options.recipe ? { recipe: options.recipe } : {}),
      };
  }
}

export async function rerenderCatalog(client: PipelineClient, file: string, options: RerenderOptions = {}): Promise<BatchResultLine[]> {
  const { batch } = await client.submitCatalog(itemsFromExport(file, options));
  await client.waitForBatch(batch.id, { pollIntervalMs: 500 });
  const lines: BatchResultLine[] = [];
  for await (const line of client.batchResults(batch.id)) lines.push(line);
  return lines;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'sku-column': { type: 'string' },
      'image-column': { type: 'string' },
      template: { type: 'string' },
      recipe: { type: 'string' },
    },
  });
  const { PIPELINE_URL, PIPELINE_API_KEY } = process.env;
  if (!positionals[0] || !PIPELINE_URL || !PIPELINE_API_KEY)
    throw new Error('usage: PIPELINE_URL=… PIPELINE_API_KEY=… rerender-catalog.ts <export.csv> [--template id]');
  const client = createPipelineClient({ baseUrl: PIPELINE_URL, apiKey: PIPELINE_API_KEY });
  const lines = await rerenderCatalog(client, positionals[0], {
    ...(values['sku-column'] ? { skuColumn: values['sku-column'] } : {}),
    ...(values['image-column'] ? { imageColumn: values['image-column'] } : {}),
    ...(values.template ? { template: values.template } : {}),
    ...(values.recipe ? { recipe: JSON.parse(await readFile(values.recipe, 'utf8')) as Recipe } : {}),
  });
  for (const l of lines)
    process.stdout.write(`${JSON.stringify({ line: l.line, sku: l.sku, state: l.state, manifestUrl: l.manifestUrl, error: l.error })}\n`);
  if (lines.some((l) => l.state !== 'completed')) process.exitCode = 1;
}

if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) await main();
