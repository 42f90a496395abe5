/**
 * The system under test for bench/load.ts: the API (with the publish worker) and one render
 * worker as separate child processes, as in production, on a queue prefix and data folder of
 * their own; plus the probes the benchmark reads (queue counts, resident memory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

export interface BenchService {
  url: string;
  adminKey: string;
  prefix: string;
  /** The API process (with the publish worker). */
  api: ChildProcess;
  worker: ChildProcess;
  /** Jobs not done yet on the render and publish queues. */
  pending(): Promise<number>;
  /** Render jobs completed so far. */
  rendersCompleted(): Promise<number>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function startNode(repoRoot: string, script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'inherit', 'inherit'] });
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the API process exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the API did not answer at ${url} within ${timeoutMs} ms`);
}

const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });

export async function startBenchService(repoRoot: string, settings: Record<string, string>): Promise<BenchService> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-${randomUUID()}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'pipeline-bench-'));
  const adminKey = `adm_${randomBytes(24).toString('base64url')}`;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    ADMIN_API_KEY: adminKey,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'error',
    MODELS_WARM: '',
    ...settings,
  };
  const api = startNode(repoRoot, 'bin/serve.ts', [], { ...env, WORKER_QUEUES: 'publish' });
  const worker = startNode(repoRoot, 'bin/worker.ts', ['render'], env);
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, api);

  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const render = new Queue('render', { connection: redis, prefix });
  const publish = new Queue('publish', { connection: redis, prefix });
  const states = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    url,
    adminKey,
    prefix,
    api,
    worker,
    pending: async () =>
      sum(await render.getJobCounts(...states)) + sum(await publish.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
    rendersCompleted: async () => (await render.getJobCounts('completed')).completed ?? 0,
    stop: async () => {
      await Promise.all([stopChild(api), stopChild(worker)]);
      await Promise.all([render.close(), publish.close()]);
      for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
        if ((keys as string[]).length) await redis.unlink(...(keys as string[]));
      }
      redis.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resident memory (bytes) of a process and all its descendants (the worker and its sandboxed children). */
export async function treeRss(pid: number): Promise<number> {
  let total = 0;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    for (const tid of await readdir(`/proc/${pid}/task`)) {
      const children = (await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')).trim();
      for (const child of children ? children.split(/\s+/) : []) total += await treeRss(Number(child));
    }
  } catch {
    // the process ended between listing and reading
  }
  return total;
}
