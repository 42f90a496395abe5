import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Env } from '../../lib/env.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A worker (or the API) as its own OS process: `node --import tsx bin/worker.ts <queues>`, as operators run it. */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves once the worker logged that it is ready to take jobs. */
  ready: Promise<void>;
  exited: Promise<void>;
  /** Everything it wrote, for failure messages. */
  output(): string;
}

/**
 * Where a process runs: the repository by default, or a working folder of its own (another "host":
 * the entry point and the TypeScript loader are then named by absolute path).
 */
export interface SpawnOptions {
  cwd?: string;
}

const tsxLoader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;

function spawnEntry(entry: string, args: string[], env: Env, readyLine: string | undefined, options: SpawnOptions): WorkerProcess {
  const child = spawn(process.execPath, ['--import', tsxLoader, path.join(root, entry), ...args], {
    cwd: options.cwd ?? root,
    env: { ...(env as NodeJS.ProcessEnv), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    void exited.then(() => reject(new Error(`${entry} exited before it was ready:\n${output}`)));
  });
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (readyLine && output.includes(readyLine)) onReady();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  ready.catch(() => undefined);
  return { child, pid: child.pid!, ready, exited, output: () => output };
}

export function spawnWorker(queues: string, env: Env, options: SpawnOptions = {}): WorkerProcess {
  return spawnEntry('bin/worker.ts', [queues], env, 'worker ready', options);
}

/** The HTTP API alone (`WORKER_QUEUES` empty) as its own process; ready once `/healthz` answers on `PORT`. */
export function spawnApi(env: Env, options: SpawnOptions = {}): WorkerProcess & { url: string } {
  const url = `http://127.0.0.1:${env.PORT}`;
  const api = spawnEntry('bin/serve.ts', [], { ...env, HOST: '127.0.0.1', WORKER_QUEUES: '' }, undefined, options);
  const ready = (async () => {
    for (;;) {
      if (api.child.exitCode !== null || api.child.signalCode !== null)
        throw new Error(`the API exited before it was ready:\n${api.output()}`);
      const ok = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  ready.catch(() => undefined);
  return { ...api, ready, url };
}

/** The process and the children it forked (sandboxed processors), so nothing is left behind. */
export function killWithChildren(p: WorkerProcess): void {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(p.pid)])
      .toString()
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // ps exits 1 when there are none.
  }
  p.child.kill('SIGKILL');
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
