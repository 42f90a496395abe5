import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What the legacy receiver code in docs/webhooks.md exports. */
export type LegacyVerifier = (
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string,
  now?: number,
) => boolean;

const DOC = fileURLToPath(new URL('../../../docs/webhooks.md', import.meta.url));

/**
 * The legacy verifier exactly as docs/webhooks.md shows it (the `js` block after its
 * `legacy-verifier` marker), loaded as a module: the tests check what receivers copied.
 */
export async function legacyVerifierFromDocs(): Promise<LegacyVerifier> {
  const doc = await readFile(DOC, 'utf8');
  const block = /<!-- legacy-verifier[^>]*-->\s*```js\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/webhooks.md has no legacy-verifier block');
  const dir = await mkdtemp(path.join(tmpdir(), 'webhook-docs-'));
  try {
    const file = path.join(dir, 'verifier.mjs');
    await writeFile(file, block[1]!);
    const mod = (await import(pathToFileURL(file).href)) as { verifyLegacyWebhook: LegacyVerifier };
    return mod.verifyLegacyWebhook;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
