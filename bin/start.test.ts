import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * Stack traces of the built server name its TypeScript sources. Cheap: the real bin/start.mjs,
 * beside a build that is up to date (a stub) and a dist/bin/serve.js compiled with its source map
 * that throws at start; test/start/npm-start.test.ts runs the real build.
 */
describe('npm start and source maps', () => {
  let dir: string;
  const serve = [
    '// the server, as built',
    'export function start(): never {',
    "  throw new Error('failed at start');",
    '}',
    'start();',
    '',
  ].join('\n');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'start-maps-'));
    await mkdir(path.join(dir, 'bin'));
    await mkdir(path.join(dir, 'dist', 'bin'), { recursive: true });
    await copyFile(path.join(root, 'bin', 'start.mjs'), path.join(dir, 'bin', 'start.mjs'));
    await writeFile(path.join(dir, 'bin', 'build.mjs'), 'export const buildIfChanged = () => false;\n');
    await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    const out = ts.transpileModule(serve, {
      fileName: 'serve.ts',
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, sourceMap: true },
    });
    await writeFile(path.join(dir, 'dist', 'bin', 'serve.js'), out.outputText);
    await writeFile(path.join(dir, 'dist', 'bin', 'serve.js.map'), out.sourceMapText!);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('start.mjs runs dist/ with source maps: the stack names the .ts file and line', () => {
    const run = spawnSync(process.execPath, [path.join(dir, 'bin', 'start.mjs')], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('failed at start');
    expect(run.stderr).toMatch(/serve\.ts:3:\d+/);
  });

  // An older Node on the machine (a distribution's, say) shows the message; the test needs one.
  const olderNode = ['/usr/bin/node', '/usr/local/bin/node'].find((node) => {
    const version = spawnSync(node, ['-v'], { encoding: 'utf8' }).stdout?.trim();
    return version !== undefined && /^v\d+/.test(version) && Number(version.slice(1).split('.')[0]) < 22;
  });
  it.runIf(olderNode)('start.mjs on a Node older than 22 says which Node it needs, and exits 1', () => {
    const run = spawnSync(olderNode!, [path.join(dir, 'bin', 'start.mjs')], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/npm start needs Node\.js 22 or later .*; this is v\d+/);
  });

  it('the build emits the source maps', () => {
    const file = path.join(root, 'tsconfig.build.json');
    const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(file, ts.sys.readFile).config, ts.sys, root, undefined, file);
    expect(parsed.options.sourceMap).toBe(true);
  });
});
