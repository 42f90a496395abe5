import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkExecArgv } from './fork-args.js';

/** Fork `entry` with the flags forkExecArgv gives it; resolves with what the child wrote to stderr. */
function stderrOf(entry: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = fork(entry, [], { execArgv: forkExecArgv(entry), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(err));
  });
}

/**
 * A forked child of built code reports errors at their TypeScript source: the module here is
 * compiled as `npm run build` compiles (tsc, a `.js.map` beside it) and throws from line 3.
 */
describe('forkExecArgv', () => {
  let dir: string;
  const source = [
    '// the child of a built worker',
    'export function fail(): never {',
    "  throw new Error('from the source');",
    '}',
    'fail();',
    '',
  ].join('\n');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fork-args-'));
    const out = ts.transpileModule(source, {
      fileName: 'child.ts',
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, sourceMap: true },
    });
    await writeFile(path.join(dir, 'child.ts'), source);
    await writeFile(path.join(dir, 'child.mjs'), out.outputText.replace('child.js.map', 'child.mjs.map'));
    await writeFile(path.join(dir, 'child.mjs.map'), out.sourceMapText!);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs built JavaScript with source maps enabled: the stack names the .ts file and line', async () => {
    expect(forkExecArgv(path.join(dir, 'child.mjs'))).toEqual(['--enable-source-maps']);
    const stderr = await stderrOf(path.join(dir, 'child.mjs'));
    expect(stderr).toContain('from the source');
    expect(stderr).toMatch(/child\.ts:3:\d+/);
  });

  it('runs TypeScript through the tsx loader, named by absolute URL, with source maps enabled', () => {
    const args = forkExecArgv('/somewhere/child.ts');
    expect(args[0]).toBe('--enable-source-maps');
    expect(args.slice(1, 2)).toEqual(['--import']);
    expect(args[2]).toMatch(/^file:\/\/.*\/tsx\/dist\/loader\.mjs$/);
  });
});
