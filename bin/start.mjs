/**
 * `npm start`: build only when the sources changed, then run the server in this same process.
 * One process, not `npm run build && node …`: npm forwards SIGTERM/SIGINT to the one child it
 * started, and a shell between them died of the signal and left the server running, re-parented.
 */
import { setSourceMapsSupport } from 'node:module';
import { buildIfChanged } from './build.mjs';

try {
  buildIfChanged();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
// As `node --enable-source-maps` would: stack traces name the .ts file and line. It applies to
// modules loaded after this call, which is all of dist/; forked children get the flag themselves.
setSourceMapsSupport(true);
await import('../dist/bin/serve.js');
