/**
 * `npm start` as an operator runs it, in a copy of the repo (so its build never touches the
 * checkout's dist/): the second start finds the build up to date, SIGTERM to the npm process stops
 * the server itself, and the last line says it stopped and how long that took.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, cp, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../faults/wait.js';
import { deleteKeys, REDIS_URL } from '../harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const COPIED = [
  'api',
  'bin',
  'cdn',
  'client',
  'lib',
  'models',
  'records',
  'templates',
  'workers',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

interface Started {
  npm: ChildProcess;
  /** The pid that wrote the "ready" log line: the server. */
  serverPid: number;
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | null>;
  /**
   * Resolves once npm has exited and every holder of its stdout and stderr pipes (the server, too)
   * has closed them and their last bytes have been read: only then is the output complete. Polling
   * the server's pid instead raced its last line, which can still sit in the pipe after it exits.
   */
  outputClosed: Promise<void>;
}

let dir: string;
const prefix = `test-${randomUUID()}`;

async function npmStart(options: { detached?: boolean } = {}): Promise<Started> {
  const npm = spawn('npm', ['start'], {
    cwd: dir,
    detached: options.detached ?? false,
    env: {
      ...process.env,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dir, 'data'),
      WORKER_QUEUES: 'render,publish',
      MODELS_WARM: '',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  npm.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const outputClosed = new Promise<void>((resolve) => npm.once('close', () => resolve()));
  const serverPid = await new Promise<number>((resolve, reject) => {
    npm.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const ready = stdout.split('\n').find((l) => l.includes('product image pipeline ready'));
      if (ready) resolve((JSON.parse(ready) as { pid: number }).pid);
    });
    void exited.then(() => reject(new Error(`npm start exited before it was ready:\n${stdout}\n${stderr}`)));
  });
  return { npm, serverPid, output: () => ({ stdout, stderr }), exited, outputClosed };
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (check()) return true;
  return check();
}

/** Whether the promise settles within ms. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('npm start', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pipeline-start-'));
    for (const entry of COPIED)
      await cp(path.join(root, entry), path.join(dir, entry), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
    await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  }, 120_000);
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds once, then starts without building while nothing changed', async () => {
    const first = await npmStart();
    expect(first.output().stderr).toContain('no build yet: building');
    first.npm.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const built = (await stat(path.join(dir, 'dist/bin/serve.js'))).mtimeMs;

    const second = await npmStart();
    expect(second.output().stderr).toContain('build is up to date');
    expect((await stat(path.join(dir, 'dist/bin/serve.js'))).mtimeMs).toBe(built);
    second.npm.kill('SIGTERM');
    await second.exited;

    // A changed source is seen by its content, whatever its modification time says.
    const { sourcesFingerprint } = (await import(path.join(dir, 'bin/build.mjs'))) as { sourcesFingerprint: () => string };
    const stamp = (await readFile(path.join(dir, 'dist/.sources-sha256'), 'utf8')).trim();
    expect(sourcesFingerprint()).toBe(stamp);
    const source = path.join(dir, 'lib/env.ts');
    const before = await readFile(source);
    const { mtime } = await stat(source);
    await appendFile(source, '\n// edited\n');
    await utimes(source, mtime, mtime);
    expect(sourcesFingerprint()).not.toBe(stamp);
    await writeFile(source, before);
  });

  it('SIGTERM to the npm process stops the server, which ends with one "stopped in … ms" line', async () => {
    const started = await npmStart();
    expect(started.serverPid).not.toBe(started.npm.pid);
    started.npm.kill('SIGTERM');
    await started.exited;
    expect(await settlesWithin(started.outputClosed, 30_000)).toBe(true);
    expect(await waitUntil(() => !isAlive(started.serverPid), 10_000)).toBe(true);
    const lines = started
      .output()
      .stdout.split('\n')
      .filter((l) => l.startsWith('{'));
    const last = JSON.parse(lines.at(-1)!) as { msg: string; durationMs: number; pid: number };
    expect(last.pid).toBe(started.serverPid);
    expect(last.msg).toMatch(/^stopped in \d+ ms$/);
    expect(last.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('Ctrl-C (SIGINT to the whole process group, which npm forwards once more) shuts down gracefully, not as a forced second signal', async () => {
    const started = await npmStart({ detached: true });
    process.kill(-started.npm.pid!, 'SIGINT');
    await started.exited;
    expect(await settlesWithin(started.outputClosed, 30_000)).toBe(true);
    expect(await waitUntil(() => !isAlive(started.serverPid), 10_000)).toBe(true);
    const { stdout } = started.output();
    expect(stdout).not.toContain('second signal');
    expect(
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1),
    ).toMatch(/"msg":"stopped in \d+ ms"/);
  });
});
