import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

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
      'api/up.ts': "import { main } from '../bin/main.js'; export const up = main;",
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.join(dir, path.dirname(name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
    const depcruise = path.join(root, 'node_modules/.bin/depcruise');
    const args = ['api', 'workers', 'templates', 'models', 'cdn', 'lib', 'bin', '--config', path.join(root, '.dependency-cruiser.cjs')];
    const result = await run(depcruise, args, { cwd: dir }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(result.code).not.toBe(0);
    const errors = result.out.split('\n').filter((l) => l.includes('error ')).map((l) => l.trim()).sort();
    expect(errors).toEqual([
      'error domain-imports-no-service: models/up.ts → workers/job.ts',
      'error lib-imports-nothing-of-ours: lib/up.ts → cdn/key.ts',
      'error only-bin-imports-bin: api/up.ts → bin/main.ts',
      'error workers-import-no-api: workers/up.ts → api/route.ts',
    ]);
  }, 120_000);
});
