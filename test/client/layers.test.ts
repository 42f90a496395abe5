import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The layer lint keeps the published client free of service code and the examples on the client alone. */
it('the layer lint fails a client importing the service and an example importing past the client', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'client-layers-'));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    'lib/floor.ts': 'export const floor = 1;',
    'api/route.ts': 'export const route = 1;',
    'client/src/index.ts': 'export const client = 1;',
    'client/src/up.ts': "import { floor } from '../../lib/floor.js'; export const up = floor;",
    'examples/ok.ts': "import { client } from '../client/src/index.js'; export const ok = client;",
    'examples/up.ts': "import { route } from '../api/route.js'; export const up = route;",
  };
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.join(dir, path.dirname(name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  const args = ['client/src', 'examples', '--config', path.join(root, '.dependency-cruiser.cjs')];
  const result = await run(path.join(root, 'node_modules/.bin/depcruise'), args, { cwd: dir }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
  );
  expect(result.code).not.toBe(0);
  expect(
    result.out
      .split('\n')
      .filter((l) => l.includes('error '))
      .map((l) => l.trim())
      .sort(),
  ).toEqual([
    'error client-stands-alone: client/src/up.ts → lib/floor.ts',
    'error examples-use-the-client-only: examples/up.ts → api/route.ts',
  ]);
}, 120_000);
