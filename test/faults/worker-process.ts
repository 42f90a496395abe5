import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Env } from '../../lib/env.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A worker as its own OS process: `node --import tsx bin/worker.ts <queues>`, as operators run it. */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves once the worker logged that it is ready to take jobs. */
  ready: Promise<void>;
  exited: Promise<void>;
  /** Everything it wrote, for failure messages. */
  output(): string;
}

export function spawnWorker(queues: string, env: Env): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/worker.ts', queues], {
    cwd: root,
    env: { ...(env as NodeJS.ProcessEnv), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker ready')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`worker exited before it was ready:\n${output}`)));
  });
  ready.catch(() => undefined);
  return { child, pid: child.pid!, ready, exited, output: () => output };
}
