/**
 * The layers, enforced in `npm test` (`npm run lint:layers`); docs/architecture.md draws them.
 * Imports point down only: bin/ (the composition root) → api/ → workers/ → records/ → templates/,
 * models/, cdn/ → lib/. Test files may reach across (an end-to-end test wires real parts), so they are
 * left out; test helpers under `testing/` follow their folder's rule like any module.
 */
const ours = '^(api|workers|records|templates|models|cdn|lib|bin)/';
module.exports = {
  forbidden: [
    {
      name: 'lib-imports-nothing-of-ours',
      comment: 'lib/ is the ground floor: it imports only packages and node:, and other lib/ modules.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(api|workers|records|templates|models|cdn|bin)/' },
    },
    {
      name: 'domain-imports-no-service',
      comment: 'templates/, models/ and cdn/ are libraries of the service: they import no api/ or workers/.',
      severity: 'error',
      from: { path: '^(templates|models|cdn)/' },
      to: { path: '^(api|workers|records|bin)/' },
    },
    {
      name: 'records-below-api-and-workers',
      comment: 'records/ holds what api/ and workers/ share (asset and template records and their stores): it imports neither.',
      severity: 'error',
      from: { path: '^records/' },
      to: { path: '^(api|workers|bin)/' },
    },
    {
      name: 'workers-import-no-api',
      comment: 'workers/ runs without the HTTP API: what both need lives in workers/ or below.',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^(api|bin)/' },
    },
    {
      name: 'only-bin-imports-bin',
      comment: 'bin/ composes the process (configuration, wiring); nothing below may depend on it.',
      severity: 'error',
      from: { path: ours, pathNot: '^bin/' },
      to: { path: '^bin/' },
    },
    {
      name: 'client-stands-alone',
      comment: 'client/ is published on its own: it may import only packages, node: and its own files, never the service.',
      severity: 'error',
      from: { path: '^client/src/' },
      to: { path: '^(api|workers|records|templates|models|cdn|lib|bin|examples)/' },
    },
    {
      name: 'examples-use-the-client-only',
      comment: 'examples/ show what a merchant can copy: the published client and packages, nothing of the service.',
      severity: 'error',
      from: { path: '^examples/' },
      to: { path: '^(api|workers|records|templates|models|cdn|lib|bin)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/|\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
  },
};
