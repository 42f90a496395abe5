import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ssri from 'ssri';
import * as tar from 'tar';
import type { ProgressReporter } from '../lib/progress.js';

interface PackageDist {
  tarball: string;
  /** Subresource-integrity string, e.g. `sha512-…` */
  integrity: string;
  unpackedSize?: number;
}

/**
 * Download one exact version of an npm package from the registry and extract only `files` from it
 * into a fresh temporary folder. The tarball's bytes are checked against the registry's
 * `dist.integrity` while they stream; a mismatch throws and leaves nothing behind.
 */
export async function fetchPackageFiles(options: {
  registry: string;
  name: string;
  version: string;
  files: string[];
  into: string;
  timeoutMs: number;
  progress?: ProgressReporter;
}): Promise<string> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const metaUrl = `${options.registry}/${options.name.replace('/', '%2f')}/${encodeURIComponent(options.version)}`;
  const metaRes = await fetch(metaUrl, { signal, headers: { accept: 'application/json' } });
  if (!metaRes.ok) throw new Error(`npm registry answered ${metaRes.status} for ${options.name}@${options.version}`);
  const dist = ((await metaRes.json()) as { dist?: PackageDist }).dist;
  if (!dist?.tarball || !dist.integrity) throw new Error(`${options.name}@${options.version} has no tarball or integrity in the registry`);
  const expected = parseIntegrity(dist.integrity);

  const res = await fetch(dist.tarball, { signal });
  if (!res.ok || !res.body) throw new Error(`downloading ${dist.tarball} answered ${res.status}`);
  const total = Number(res.headers.get('content-length')) || undefined;
  const algorithm = expected.pickAlgorithm();
  const hash = createHash(algorithm);
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      received += chunk.length;
      options.progress?.(received, total);
      done(null, chunk);
    },
  });

  await mkdir(options.into, { recursive: true });
  const dir = await mkdtemp(path.join(options.into, '.pkg-'));
  const wanted = new Set(options.files.map((f) => `package/${f}`));
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      meter,
      tar.x({ cwd: dir, filter: (p) => wanted.has(p.replace(/^\.\//, '')) }),
    );
    const actual = `${algorithm}-${hash.digest('base64')}`;
    if (!expected.match(actual)) {
      throw new Error(`${options.name}@${options.version}: tarball integrity mismatch (expected ${expected.toString()}, got ${actual})`);
    }
    const packageDir = path.join(dir, 'package');
    const missing = [];
    for (const file of options.files) if (!(await exists(path.join(packageDir, file)))) missing.push(file);
    if (missing.length) throw new Error(`${options.name}@${options.version} does not contain ${missing.join(', ')}`);
    return packageDir;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/**
 * The registry's integrity string, read as Subresource Integrity says (ssri): it may list several
 * hashes; the strongest algorithm listed is the one checked, and the tarball passes when it matches
 * one hash of that algorithm. Reading only the first hash passed a tarball whose weaker first hash
 * matched while a stronger one did not. Strict: sha256, sha384 and sha512 only.
 */
function parseIntegrity(integrity: string): ssri.Integrity {
  const parsed = ssri.parse(integrity, { strict: true });
  if (!parsed || Object.keys(parsed).length === 0) throw new Error(`unsupported integrity string: ${integrity}`);
  return parsed;
}
