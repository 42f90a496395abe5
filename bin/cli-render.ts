import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assetIdFor } from '../records/asset-store.js';
import { inspectImage } from '../api/inspect-image.js';
import { EXTENSIONS } from '../lib/image-format.js';
import { FORMAT_EXTENSIONS, originalKey } from '../cdn/keys.js';
import { buildManifest } from '../cdn/manifest.js';
import { fsStorage } from '../cdn/fs-storage.js';
import { AppError } from '../lib/errors.js';
import type { Env } from '../lib/env.js';
import { restrictImageLoaders } from '../lib/image-policy.js';
import { createLogger, logLevelFromEnv } from '../lib/logger.js';
import { loadModelsConfig } from '../models/config.js';
import { loadWorkersConfig } from '../workers/config.js';
import { runStepsInline } from '../workers/inline-steps.js';
import { stepDeps } from '../workers/jobs/deps.js';
import { resolveGenerate } from '../api/resolve-generate.js';
import { parseRecipeField } from '../api/start-run.js';
import { builtinTemplates } from '../templates/builtin.js';
import { generatorConfigFromEnv } from '../models/generator/index.js';
import { checkOutputSize, validateRecipe } from '../workers/recipe.js';
import { progressReporter, type CliIo } from './cli-io.js';

const IMAGE_FILE = /\.(jpe?g|png|webp|avif|tiff?|gif)$/i;
/** Local runs are one tenant: keys keep the service's scheme, under `t/local/`. */
const LOCAL_TENANT = 'local';

export interface RenderArgs {
  input: string;
  recipe?: string | undefined;
  out?: string | undefined;
}

/**
 * `pipeline render <file|folder>`: the same steps as the service, in this process, on local files:
 * no Redis, no bucket. Each photo's responsive set and its manifest land in `<out>/<name>/`
 * (default `<folder of the input>/rendered/<name>/`); manifest URLs are relative to it.
 */
export async function renderCommand(args: RenderArgs, io: CliIo): Promise<number> {
  restrictImageLoaders();
  const recipe = parseRecipeField(args.recipe, '--recipe');
  const env: Env = io.env;
  const workers = loadWorkersConfig(env);
  // Templates here are the built-ins (no server, no tenant); a backplate asset cannot be named.
  const localTemplates = {
    templates: {
      get: async (_tenant: string, id: string) => {
        const t = builtinTemplates().get(id);
        return t && { ...t, builtin: true };
      },
    },
    assets: { get: async () => undefined },
    config: { workers, generator: generatorConfigFromEnv(env) },
  };
  const valid = (await resolveGenerate(localTemplates, LOCAL_TENANT, validateRecipe(recipe))).valid;
  const files = await inputFiles(args.input);
  if (!files.length) throw new AppError('BAD_REQUEST', `No images (${IMAGE_FILE.source}) in ${args.input}.`);
  const outRoot = path.resolve(args.out ?? path.join(path.dirname(files[0]!), 'rendered'));
  const work = await mkdtemp(path.join(tmpdir(), 'pipeline-render-'));
  const storage = fsStorage({ root: work });
  const logger = createLogger(logLevelFromEnv({ LOG_LEVEL: 'warn', ...env }), { process: 'cli' });
  // No CDN here: no imgix master is written.
  const deps = stepDeps({ storage, workers, models: loadModelsConfig(env), env, logger });
  const progress = progressReporter(io, files.length);
  let failed = 0;
  try {
    for (const [index, file] of files.entries()) {
      const name = path.basename(file).replace(/\.[^.]+$/, '');
      progress.start(index, path.basename(file));
      const started = performance.now();
      try {
        const image = await inspectImage(file, {
          maxPixels: workers.decodeLimits.maxPixels,
          maxFrames: workers.decodeLimits.maxFrames,
          decodeTimeoutSeconds: workers.decodeLimits.timeoutSeconds,
        });
        checkOutputSize(image, valid, workers.maxOutputPixels);
        const bytes = await readFile(file);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const key = originalKey(LOCAL_TENANT, sha256, EXTENSIONS[image.format]);
        await storage.put(key, bytes, { contentType: `image/${image.format}` });
        const assetId = assetIdFor(LOCAL_TENANT, sha256);
        const runId = `run_local_${sha256.slice(0, 24)}`;
        const result = await runStepsInline(
          { tenantId: LOCAL_TENANT, assetId, runId, source: { key, sha256 }, steps: valid.steps, defaultWidths: workers.renderWidths },
          deps,
          (e) => e.state === 'active' && progress.step(e.name),
        );
        const dir = path.join(outRoot, name);
        await mkdir(dir, { recursive: true });
        const fileOf = new Map<string, string>();
        for (const r of result.renditions) {
          const fileName = `${r.width}.${FORMAT_EXTENSIONS[r.format]}`;
          await writeFile(path.join(dir, fileName), (await storage.get(r.key))!);
          fileOf.set(r.key, fileName);
        }
        const manifest = buildManifest({
          assetId,
          tenantId: LOCAL_TENANT,
          runId,
          source: { sha256, width: image.width, height: image.height, format: image.format, bytes: bytes.length },
          renditions: result.renditions,
          thumbhash: result.thumbhash,
          dominantColor: result.dominantColor,
          urlFor: (k) => fileOf.get(k) ?? k,
        });
        await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
        progress.done(
          `${path.basename(file)} -> ${path.relative(process.cwd(), dir) || dir} (${result.renditions.length} files, ${Math.round(performance.now() - started)} ms)`,
        );
      } catch (err) {
        failed += 1;
        const e = err instanceof AppError ? `${err.code}: ${err.message}` : String(err instanceof Error ? err.message : err);
        progress.done(`${path.basename(file)} failed: ${e}`, true);
      }
    }
  } finally {
    progress.finish();
    await rm(work, { recursive: true, force: true });
  }
  io.stdout.write(`${files.length - failed} of ${files.length} rendered into ${outRoot}\n`);
  return failed ? 1 : 0;
}

async function inputFiles(input: string): Promise<string[]> {
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new AppError('NOT_FOUND', `${input} does not exist.`);
  if (info.isFile()) return [path.resolve(input)];
  return (await readdir(input))
    .filter((f) => IMAGE_FILE.test(f))
    .sort()
    .map((f) => path.resolve(input, f));
}
