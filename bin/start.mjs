/**
 * `npm start`: build only when the sources changed, then run the server in this same process.
 * One process, not `npm run build && node …`: npm forwards SIGTERM/SIGINT to the one child it
 * started, and a shell between them died of the signal and left the server running, re-parented.
 */
import * as nodeModule from 'node:module';

// An older Node fails deep inside a dependency with an error that names nothing useful: say it here.
const MIN_NODE_MAJOR = 22;
if (Number(process.versions.node.split('.')[0]) < MIN_NODE_MAJOR) {
  console.error(`npm start needs Node.js ${MIN_NODE_MAJOR} or later (24 LTS recommended); this is ${process.version}.`);
  process.exit(1);
}

const { buildIfChanged } = await import('./build.mjs');
try {
  buildIfChanged();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
// As `node --enable-source-maps` would: stack traces name the .ts file and line. It applies to
// modules loaded after this call, which is all of dist/; forked children get the flag themselves.
// module.setSourceMapsSupport is Node 22.14+; earlier 22.x has process.setSourceMapsEnabled.
if (nodeModule.setSourceMapsSupport) nodeModule.setSourceMapsSupport(true);
else process.setSourceMapsEnabled(true);
await import('../dist/bin/serve.js');
