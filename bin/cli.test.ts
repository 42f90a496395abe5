import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, startTestService, upload, waitForRun, type TestService } from '../test/harness.js';
import { runCli } from './cli.js';

function io(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const text = (xs: Array<string | Uint8Array>) => xs.map((x) => (typeof x === 'string' ? x : Buffer.from(x).toString('utf8'))).join('');
  const stdout = { write: (s: string | Uint8Array) => out.push(s as string) };
  const stderr = { write: (s: string) => err.push(s) };
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
  return { io: { stdout, stderr, env, isTTY }, out: () => text(out), err: () => text(err) };
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'pipeline-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('pipeline render', () => {
  it('renders a photo in-process: the responsive set and a manifest that points at it', async () => {
    const photo = path.join(work, 'coffee.png');
    await copyFile(fileURLToPath(fixture('coffee.png')), photo);
    const out = path.join(work, 'out');
    const run = io();
    const recipe = JSON.stringify({ steps: [{ name: 'render', options: { widths: [64, 128], formats: ['webp', 'jpeg'] } }] });
    expect(await runCli(['render', photo, '--recipe', recipe, '--out', out], run.io)).toBe(0);
    expect(run.out()).toMatch(/coffee\.png -> .*coffee \(4 files, \d+ ms\)/);
    expect((await readdir(path.join(out, 'coffee'))).sort()).toEqual(['128.jpg', '128.webp', '64.jpg', '64.webp', 'manifest.json']);
    const manifest = JSON.parse(await readFile(path.join(out, 'coffee', 'manifest.json'), 'utf8')) as {
      srcset: Record<string, string>;
      renditions: Array<{ url: string }>;
    };
    expect(manifest.srcset.webp).toBe('64.webp 64w, 128.webp 128w');
    const meta = await sharp(path.join(out, 'coffee', '128.webp')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 128, 85]);
  });

  it('renders a folder with a progress bar on a terminal, reporting a file that fails and going on', async () => {
    const folder = path.join(work, 'folder');
    await rm(folder, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(folder));
    await copyFile(fileURLToPath(fixture('HappyFish.jpg')), path.join(folder, 'fish.jpg'));
    await writeFile(path.join(folder, 'broken.png'), 'not an image');
    const run = io(true);
    const recipe = JSON.stringify({ steps: [{ name: 'render', options: { widths: [100], formats: ['jpeg'] } }] });
    expect(await runCli(['render', folder, '--recipe', recipe], run.io)).toBe(1);
    expect(run.err()).toContain('[');
    expect(run.err()).toMatch(/broken\.png failed: UNSUPPORTED_MEDIA_TYPE/);
    expect(await readdir(path.join(folder, 'rendered', 'fish'))).toContain('100.jpg');
    expect(run.out()).toContain('1 of 2 rendered');
  });

  it('refuses a bad recipe before touching any file', async () => {
    const run = io();
    const recipe = '{"steps":[{"name":"generate","options":{"template":"no-such-template"}},{"name":"render"}]}';
    expect(await runCli(['render', work, '--recipe', recipe], run.io)).toBe(1);
    expect(run.err()).toMatch(/^UNKNOWN_TEMPLATE/);
  });
});

describe('pipeline batch', () => {
  let service: TestService;
  let key: string;
  let assetId: string;
  beforeAll(async () => {
    // No catalog worker: submitted items stay queued, so every command sees a known state.
    service = await startTestService({ WORKER_QUEUES: 'render,publish' });
    ({ key } = await createTenant(service));
    const res = (await (await upload(service, key, await readFile(fixture('HappyFish.jpg')), { filename: 'fish.jpg' })).json()) as {
      asset: { id: string };
      run: { id: string };
    };
    assetId = res.asset.id;
    await waitForRun(service, key, res.run.id);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('submits a catalog file, shows its status, exports its lines and cancels it', async () => {
    const file = path.join(work, 'catalog.csv');
    await writeFile(file, `sku,source,options\nfish-1,${assetId},"{""widths"":[64]}"\nfish-2,${assetId},\n,${assetId},\n`);
    const server = ['--url', service.url, '--key', key];

    const submit = io();
    expect(await runCli(['batch', 'submit', file, ...server], submit.io)).toBe(0);
    const id = submit.out().trim();
    expect(id).toMatch(/^bat_[0-9a-f]{32}$/);
    expect(submit.err()).toContain('2 queued');
    expect(submit.err()).toMatch(/line 4: INVALID_BATCH_ITEM/);

    const status = io();
    expect(await runCli(['batch', 'status', id, '--json', ...server], status.io)).toBe(0);
    expect(JSON.parse(status.out())).toMatchObject({ id, state: 'running', counts: { total: 3, waiting: 2, failed: 1 } });

    const cancel = io();
    expect(await runCli(['batch', 'cancel', id, ...server], cancel.io)).toBe(0);
    expect(cancel.out()).toContain(`${id} cancelled`);

    const exported = io();
    expect(await runCli(['batch', 'export', id, ...server], exported.io)).toBe(0);
    const lines = exported
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; sku: string; state: string });
    expect(lines.map((l) => [l.line, l.sku, l.state])).toEqual([
      [2, 'fish-1', 'cancelled'],
      [3, 'fish-2', 'cancelled'],
      [4, '', 'failed'],
    ]);

    const again = io();
    expect(await runCli(['batch', 'cancel', id, ...server], again.io)).toBe(1);
    expect(again.err()).toMatch(/^BATCH_STATE_CONFLICT/);
    const noKey = io();
    noKey.io.env = { ...noKey.io.env, PIPELINE_API_KEY: undefined };
    expect(await runCli(['batch', 'status', id, '--url', service.url], noKey.io)).toBe(1);
  });
});

describe('pipeline --version', () => {
  it("prints the product's package.json version, from runCli and from the executable itself", async () => {
    const { version } = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as {
      version: string;
    };
    const run = io();
    expect(await runCli(['--version'], run.io)).toBe(0);
    expect(run.out()).toBe(`${version}\n`);
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    expect(execFileSync(process.execPath, ['--import', 'tsx', cli, '-v'], { encoding: 'utf8' })).toBe(`${version}\n`);
  });
});
