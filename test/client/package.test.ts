import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { liveDocument, SCHEMA_FILE, schemaText } from '../../client/scripts/generate-schema.js';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const readJson = async (file: string) =>
  JSON.parse(await readFile(path.join(root, file), 'utf8')) as Record<string, Record<string, string>>;

describe('the client package', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('has types generated from the live document: run `npm run client:generate` when this fails', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed === (await schemaText(await liveDocument())), 'client/src/schema.ts is stale').toBe(true);
  });

  it('builds on its own to what its exports name, and imports from there', async () => {
    out = await mkdtemp(path.join(tmpdir(), 'client-dist-'));
    await run(process.execPath, [
      path.join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(root, 'client/tsconfig.json'),
      '--outDir',
      out,
    ]);
    const pkg = await readJson('client/package.json');
    const exported = pkg.exports!['.'] as unknown as { types: string; import: string };
    expect([exported.types, exported.import]).toEqual(['./dist/index.d.ts', './dist/index.js']);
    const built = (await import(pathToFileURL(path.join(out, 'index.js')).href)) as Record<string, unknown>;
    expect(Object.keys(built).sort()).toEqual([
      'FINAL_RUN_STATES',
      'PipelineError',
      'WEBHOOK_TOLERANCE_SECONDS',
      'WebhookVerificationError',
      'createPipelineClient',
      'parseWebhook',
      'verifyWebhook',
    ]);
    expect(await readFile(path.join(out, 'index.d.ts'), 'utf8')).toContain('createPipelineClient');
  }, 120_000);

  it('pins the same generator and runtime versions as the root, which installs them', async () => {
    const [client, rootPkg] = await Promise.all([readJson('client/package.json'), readJson('package.json')]);
    expect(client.dependencies!['openapi-fetch']).toBe(rootPkg.dependencies!['openapi-fetch']);
    expect(client.devDependencies!['openapi-typescript']).toBe(rootPkg.devDependencies!['openapi-typescript']);
    expect(client.dependencies!['openapi-fetch']).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
