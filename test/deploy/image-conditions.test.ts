/**
 * The production image's conditions, reproduced without a Docker engine, from the Dockerfile itself:
 * its final stage's files (dist built from this tree, the paths it copies) in a clean folder, a
 * production-only `npm ci` from the local npm cache with the registry unreachable, everything
 * root-owned and read-only, the data and model folders (models copied in, as the build fetches them)
 * the only writable places, then the service started as `nobody` with the image's environment and
 * no route to npm, and a full upload → remove-background → manifest run. Needs root (CI runs as root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelByName } from '../../models/model-list.js';
import { loadModelsConfig } from '../../models/config.js';
import { ensureModel } from '../../models/ensure-model.js';
import { ADMIN_KEY, createTenant, deleteKeys, fixture, REDIS_URL, upload, waitForRun } from '../harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const NOBODY = 65534;
/** Nothing listens here: the registry and any proxy the service might try. */
const CLOSED = 'http://127.0.0.1:9';
const asRoot = process.getuid?.() === 0;

interface Stage {
  from: string;
  lines: string[];
}

/** The Dockerfile's stages, continuation lines joined. */
function stages(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of lines) {
    if (/^FROM /i.test(line)) out.push({ from: line.split(/\s+/)[1]!, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/** `ENV A=1 B=2` lines of a stage, as one object. */
const envOf = (stage: Stage) =>
  Object.fromEntries(
    stage.lines.filter((l) => /^ENV /i.test(l)).flatMap((l) => [...l.slice(4).matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])),
  );

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

function startAsNobody(
  app: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string; ready: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['dist/bin/serve.js'], {
    cwd: app,
    env,
    uid: NOBODY,
    gid: NOBODY,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c.toString();
      if (output.includes('product image pipeline ready')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`the service exited (${code}) before it was ready:\n${output}`)));
  });
  ready.catch(() => undefined);
  return { child, output: () => output, ready, exited };
}

describe.skipIf(!asRoot)('the production image, reproduced without Docker', { timeout: 600_000 }, () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const all = stages(dockerfile);
  const final = all.at(-1)!;
  const imageEnv = envOf(final);
  const prefix = `test-${randomUUID()}`;
  let dir: string;
  let app: string;
  let data: string;
  let models: string;
  /** The image's paths (/data, /models) moved under the test's folder. */
  const place = (value: string) => (value === imageEnv.DATA_DIR ? data : value === imageEnv.MODELS_DIR ? models : value);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pipeline-image-'));
    await chmod(dir, 0o755);
    app = path.join(dir, 'app');
    data = path.join(dir, 'data');
    models = path.join(dir, 'models');
    await mkdir(app);

    // What the final stage copies from the build stage: dist is built here, the rest comes from the tree.
    const tsc = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(app, 'dist')],
      { cwd: root, encoding: 'utf8' },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    for (const line of final.lines.filter((l) => /^COPY /i.test(l) && !/--from=(?!build\b)/.test(l))) {
      const [source, target] = line
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(1);
      // From the build stage (/app/...) or from the build context (this tree).
      const rel = line.includes('--from=build') ? path.relative('/app', source!) : source!;
      if (rel === 'dist') continue;
      if (rel === 'models-cache') continue; // the models: copied below, as the build stage fetches them
      const to = target!.endsWith('/') ? path.join(target!, path.basename(rel)) : target!;
      await cp(path.join(root, rel), path.join(app, to), { recursive: true });
    }
    // The deps stage: package.json and the lockfile, a production-only install, offline.
    await copyFile(path.join(root, 'package-lock.json'), path.join(app, 'package-lock.json'));
    // Without the Dockerfile's ONNXRUNTIME_NODE_INSTALL=skip: package.json alone must keep
    // onnxruntime-node from fetching CUDA files (it would fail here, with no route out).
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^ONNXRUNTIME_NODE_INSTALL/i.test(k)));
    const install = spawnSync('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...cleanEnv, HTTPS_PROXY: CLOSED, HTTP_PROXY: CLOSED },
    });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/EBADENGINE|Unknown (project|env) config/);

    // The build stage fetches and verifies the models; here the suite's verified cache is copied in.
    await mkdir(models);
    const file = await ensureModel(modelByName('isnet-small'), loadModelsConfig(process.env), { quiet: true });
    await copyFile(file, path.join(models, path.basename(file)));
    await mkdir(data);
    // Root owns the code, read-only; the image's user owns only /data and /models.
    expect(spawnSync('chmod', ['-R', 'a-w', app]).status).toBe(0);
    for (const folder of [data, models]) expect(spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, folder]).status).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is built as the issue asks: Node 24, non-root, a data volume, a PORT-aware healthcheck with a start period, no host files', async () => {
    for (const stage of all) expect(stage.from).toMatch(/^node:24-/);
    expect(final.lines.filter((l) => /^USER /i.test(l)).at(-1)).toMatch(/^USER (?!root|0\b)\S+/);
    expect(final.lines.some((l) => l === `VOLUME ${imageEnv.DATA_DIR}`)).toBe(true);
    expect(imageEnv.MODELS_DIR).toMatch(/^\//);
    expect(all[0]!.lines.some((l) => /^RUN .*dist\/bin\/fetch-models\.js/.test(l))).toBe(true);
    const healthcheck = final.lines.find((l) => /^HEALTHCHECK /i.test(l))!;
    expect(healthcheck).toMatch(/--start-period=\d+s/);
    expect(healthcheck).toContain('process.env.PORT');
    const ignored = (await readFile(path.join(root, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git', '.cache', 'data']) expect(ignored).toContain(entry);
  });

  it('refuses to start on HOST=0.0.0.0 without PUBLIC_BASE_URL, naming it', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      ...Object.fromEntries(Object.entries(imageEnv).map(([k, v]) => [k, place(v)])),
      REDIS_URL,
    };
    const started = startAsNobody(app, env);
    expect(await started.exited).not.toBe(0);
    expect(started.output()).toContain('PUBLIC_BASE_URL: required when HOST is not loopback');
  });

  it('starts as nobody with no route to the registry, passes its healthcheck and takes an upload to a published manifest', async () => {
    const port = await freePort();
    const publicBase = `http://127.0.0.1:${port}/files`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      ...Object.fromEntries(Object.entries(imageEnv).map(([k, v]) => [k, place(v)])),
      PORT: String(port),
      PUBLIC_BASE_URL: publicBase,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      ADMIN_API_KEY: ADMIN_KEY,
      MODELS_WARM: 'isnet-small',
      NPM_REGISTRY: `${CLOSED}/`,
      HTTPS_PROXY: CLOSED,
      HTTP_PROXY: CLOSED,
    };
    const service = startAsNobody(app, env);
    try {
      await service.ready;
      const healthcheck = final.lines.find((l) => /^HEALTHCHECK /i.test(l))!;
      const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD') + 3).trim()) as string[];
      const probe = spawnSync(process.execPath, command.slice(1), { env, uid: NOBODY, gid: NOBODY, encoding: 'utf8', timeout: 30_000 });
      expect(probe.status, probe.stderr).toBe(0);

      const url = `http://127.0.0.1:${port}`;
      const { key } = await createTenant({ url });
      const recipe = {
        steps: [
          { name: 'remove-background', options: { model: 'small' } },
          { name: 'render', options: { widths: [320], formats: ['jpeg'] } },
        ],
      };
      const res = await upload({ url }, key, await readFile(fixture('d02_mug_woodtable.png')), { filename: 'mug.png', recipe });
      expect(res.status).toBe(202);
      const { asset, run } = (await res.json()) as { asset: { id: string }; run: { id: string } };
      const done = await waitForRun({ url }, key, run.id, 300_000);
      expect(done.state, JSON.stringify(done) + service.output()).toBe('completed');
      const body = (await (await fetch(`${url}/v1/assets/${asset.id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
        manifest: { renditions: Array<{ url: string; format: string }> };
      };
      const [rendition] = body.manifest.renditions;
      expect(rendition!.url.startsWith(`${publicBase}/`)).toBe(true);
      const image = await fetch(rendition!.url);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/jpeg');
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    expect(service.output()).not.toMatch(/EACCES|EROFS|fetching @/);
  });
});
