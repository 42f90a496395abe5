import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every variable the code reads: the keys of each folder's zod env schema, and any `process.env.X`. */
async function variablesReadByCode(): Promise<Set<string>> {
  const found = new Set<string>();
  for (const folder of ['api', 'workers', 'records', 'models', 'templates', 'cdn', 'lib', 'bin']) {
    const entries = await readdir(path.join(root, folder), { recursive: true }).catch(() => [] as string[]);
    for (const file of entries.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('testing'))) {
      const text = await readFile(path.join(root, folder, file), 'utf8');
      for (const m of text.matchAll(/process\.env\.([A-Z][A-Z0-9_]+)/g)) found.add(m[1]!);
      if (path.basename(file) === 'config.ts' || file.endsWith('/config.ts')) {
        for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}): /gm)) found.add(m[1]!);
      }
    }
  }
  return found;
}

describe('the README configuration table', () => {
  it('lists every environment variable the code reads', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'));
    const variables = await variablesReadByCode();
    expect(variables.size).toBeGreaterThan(20);
    const missing = [...variables].filter((v) => !table.includes(`\`${v}\``));
    expect(missing, 'add these to the README configuration table').toEqual([]);
  });
});
