import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The Node flags a forked child needs to run `entry` (a sandboxed processor, a batch step child):
 * none for built JavaScript; for TypeScript sources, tsx's loader named by absolute URL. A bare
 * `--import tsx` resolves from the working folder, so a worker started elsewhere (another host's
 * layout, a service manager's cwd) forked children that never started and its jobs hung.
 */
export function forkExecArgv(entry: string): string[] {
  if (path.extname(entry) !== '.ts') return [];
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  return ['--import', pathToFileURL(path.join(path.dirname(tsxPackage), 'dist', 'loader.mjs')).href];
}
