import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/**
 * `npm run lint` (part of `npm test`) holds the layers: a tree with one forbidden import per rule
 * must fail it, naming each, while the imports the layers allow pass.
 */
describe('the layer lint', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails on each forbidden import and passes the allowed ones', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'layers-'));
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
      // Allowed: bin → api → workers → templates/cdn → lib.
      'bin/main.ts': "import { route } from '../api/route.js'; export const main = route;",
      'api/route.ts': "import { job } from '../workers/job.js'; export const route = job;",
      'workers/job.ts': "import { scene } from '../templates/scene.js'; export const job = scene;",
      'templates/scene.ts': "import { key } from '../cdn/key.js'; export const scene = key;",
      'cdn/key.ts': "import { floor } from '../lib/floor.js'; export const key = floor;",
      'lib/floor.ts': 'export const floor = 1;',
      // Forbidden, one per rule.
      'lib/up.ts': "import { key } from '../cdn/key.js'; export const up = key;",
      'models/up.ts': "import { job } from '../workers/job.js'; export const up = job;",
      'workers/up.ts': "import { route } from '../api/route.js'; export const up = route;",
      'records/up.ts': "import { job } from '../workers/job.js'; export const up = job;",
      'api/up.ts': "import { main } from '../bin/main.js'; export const up = main;",
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.join(dir, path.dirname(name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
    const depcruise = path.join(root, 'node_modules/.bin/depcruise');
    const args = [
      'api',
      'workers',
      'records',
      'templates',
      'models',
      'cdn',
      'lib',
      'bin',
      '--config',
      path.join(root, '.dependency-cruiser.cjs'),
    ];
    const result = await run(depcruise, args, { cwd: dir }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(result.code).not.toBe(0);
    const errors = result.out
      .split('\n')
      .filter((l) => l.includes('error '))
      .map((l) => l.trim())
      .sort();
    expect(errors).toEqual([
      'error domain-imports-no-service: models/up.ts → workers/job.ts',
      'error lib-imports-nothing-of-ours: lib/up.ts → cdn/key.ts',
      'error only-bin-imports-bin: api/up.ts → bin/main.ts',
      'error records-below-api-and-workers: records/up.ts → workers/job.ts',
      'error workers-import-no-api: workers/up.ts → api/route.ts',
    ]);
  }, 120_000);
});

/** Compiled by `npm run build` (tsconfig.build.json): everything in these folders but tests and test helpers. */
const BUILT = ['api', 'workers', 'records', 'models', 'templates', 'cdn', 'lib', 'bin'];
const notBuilt = (rel: string) => /\.(test|conformance)\.ts$/.test(rel) || rel.split('/').includes('testing') || rel.endsWith('.d.ts');
/** Run by hand, not imported by the service: `npx tsx cdn/varnish/public-keys.ts` regenerates the VCL. */
const SCRIPTS = ['cdn/varnish/public-keys.ts'];

describe('test helpers', () => {
  it('live under testing/ folders, which the build leaves out of dist/', async () => {
    const build = JSON.parse(await readFile(path.join(root, 'tsconfig.build.json'), 'utf8')) as { exclude: string[] };
    expect(build.exclude).toContain('**/testing/**');
    const files = (await readdir(root, { recursive: true }))
      .map((f) => f.split(path.sep).join('/'))
      .filter((f) => f.endsWith('.ts') && !f.startsWith('node_modules/') && !f.startsWith('dist/'));
    const importedBy = new Map<string, string[]>();
    for (const file of files) {
      const text = await readFile(path.join(root, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!)).replace(/\.js$/, '.ts');
        importedBy.set(target, [...(importedBy.get(target) ?? []), file]);
      }
    }
    const isTestSide = (f: string) => notBuilt(f) || !BUILT.includes(f.split('/')[0]!);
    const helpersInDist = files.filter((f) => {
      if (!BUILT.includes(f.split('/')[0]!) || notBuilt(f) || f.startsWith('bin/') || SCRIPTS.includes(f)) return false;
      const by = importedBy.get(f) ?? [];
      return by.length > 0 && by.every(isTestSide);
    });
    expect(helpersInDist).toEqual([]);
  });
});
