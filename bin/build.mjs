/**
 * The build, remembered: `tsc -p tsconfig.build.json`, then a fingerprint of what it compiled
 * (dist/.sources-sha256). `npm start` compares fingerprints and builds only when a source changed,
 * so a restart costs no 20 s compile. Plain JavaScript: it runs before anything is compiled.
 *   node bin/build.mjs           # always build (npm run build)
 *   import { buildIfChanged }    # build only when the fingerprint differs (bin/start.mjs)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const STAMP = path.join(root, 'dist', '.sources-sha256');

/** Everything tsconfig.build.json compiles, plus what changes its output (compiler options, the lockfile's TypeScript). */
function sourceFiles() {
  const config = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  const skip = (rel) => /\.(test|conformance)\.ts$/.test(rel) || rel.split('/').includes('testing');
  const files = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && rel.endsWith('.ts') && !skip(rel)) files.push(rel);
    }
  };
  for (const dir of config.include) if (existsSync(path.join(root, dir))) walk(dir);
  return files.sort();
}

/**
 * A content hash, not modification times: a checkout, a copy or an archive may give an edited file
 * an older mtime than the last build; names are hashed too, so a deleted or renamed file counts.
 */
export function sourcesFingerprint() {
  const hash = createHash('sha256');
  for (const rel of sourceFiles())
    hash
      .update(`${rel}\0`)
      .update(readFileSync(path.join(root, rel)))
      .update('\0');
  return hash.digest('hex');
}

export function build() {
  const fingerprint = sourcesFingerprint();
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`build failed (tsc exit ${result.status ?? result.signal})`);
  writeFileSync(STAMP, `${fingerprint}\n`);
}

/** Build when the sources differ from the last build's; says which it did on stderr (stdout is for JSON logs). */
export function buildIfChanged() {
  const last = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : undefined;
  if (last === sourcesFingerprint()) {
    process.stderr.write('build is up to date (dist/ matches the sources)\n');
    return false;
  }
  process.stderr.write(last ? 'sources changed since the last build: building\n' : 'no build yet: building\n');
  build();
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    build();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
