import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The Node flags a forked child needs to run `entry` (a sandboxed processor, a batch step child).
 * Always `--enable-source-maps`, so a child's stack trace names the TypeScript file and line (the
 * build emits source maps beside dist/) rather than compiled JavaScript. For TypeScript sources,
 * also tsx's loader named by absolute URL: a bare `--import tsx` resolves from the working folder,
 * so a worker started elsewhere (another host's layout, a service manager's cwd) forked children
 * that never started and its jobs hung.
 */
export function forkExecArgv(entry: string): string[] {
  if (path.extname(entry) !== '.ts') return ['--enable-source-maps'];
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  return ['--enable-source-maps', '--import', pathToFileURL(path.join(path.dirname(tsxPackage), 'dist', 'loader.mjs')).href];
}
