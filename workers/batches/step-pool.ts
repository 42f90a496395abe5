import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../../lib/env.js';
import { AppError, type ErrorCode } from '../../lib/errors.js';
import { forkExecArgv } from '../../lib/fork-args.js';
import type { RenderResult } from '../catalogue.js';
import type { InlineStepEvent, InlineStepsTask } from '../inline-steps.js';

export interface StepChildRequest {
  id: number;
  task: InlineStepsTask;
}
export type StepChildReply =
  | { id: number; event: InlineStepEvent }
  | { id: number; result: RenderResult }
  | { id: number; error: { status?: number; code?: ErrorCode; message: string; details?: Record<string, unknown> } };

/** What a child's steps produced, and what running them cost beyond the steps themselves. */
export interface StepPoolOutcome {
  result: RenderResult;
  /** Time the task waited for a free child. */
  childWaitMs: number;
  /** Time a child started for this task took to load and take it (0 for a warm child). */
  childStartMs: number;
}

/** Runs catalog items' steps in low-priority children (workers/batches/step-child.ts). */
export interface StepPool {
  run(task: InlineStepsTask, onEvent?: (event: InlineStepEvent) => void): Promise<StepPoolOutcome>;
  /** Stop (SIGSTOP) or continue (SIGCONT) every child: see workers/batches/yield-governor.ts. */
  setFrozen(frozen: boolean): void;
  /** True while a task is in a child or waits for one. */
  busy(): boolean;
  /**
   * Resolves at once unless the children are frozen, else when they are thawed (or the pool
   * closes): an item's work outside its child (source, records, publish) waits here, so it too
   * leaves the machine to interactive work.
   */
  thawed(): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  resolve: (r: Pick<StepPoolOutcome, 'result'>) => void;
  reject: (e: Error) => void;
  onEvent: (event: InlineStepEvent) => void;
  /** Set when the task's child was started for it: from the fork to its first word. */
  childStartMs?: number;
}

const HERE = fileURLToPath(import.meta.url);
const CHILD = path.join(path.dirname(HERE), `step-child${path.extname(HERE)}`);

/**
 * Up to `size` children, started on first use and kept warm (each keeps its ONNX sessions); one
 * task per child at a time. A child that dies fails its task (the job retries) and is replaced.
 */
export function createStepPool(size: number, env: Env): StepPool {
  const idle: ChildProcess[] = [];
  const all = new Set<ChildProcess>();
  const waiters: Array<(child: ChildProcess) => void> = [];
  const pending = new Map<number, Pending>();
  const owner = new Map<ChildProcess, number>();
  /** Children that have not spoken yet, and when each was forked. */
  const starting = new Map<ChildProcess, number>();
  let nextId = 1;
  let closed = false;
  let frozen = false;
  let thaw: { promise: Promise<void>; resolve: () => void } | undefined;
  const signalAll = (sig: NodeJS.Signals) => {
    for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };

  const spawn = (): ChildProcess => {
    const child = fork(CHILD, [], {
      env: env as NodeJS.ProcessEnv,
      execArgv: forkExecArgv(HERE),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Structured clone: rendition bytes cross as one binary copy, not as JSON arrays of numbers.
      serialization: 'advanced',
    });
    all.add(child);
    starting.set(child, performance.now());
    if (frozen) child.kill('SIGSTOP');
    child.on('message', (reply: StepChildReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      const forkedAt = starting.get(child);
      if (forkedAt !== undefined) {
        starting.delete(child);
        p.childStartMs = Math.round(performance.now() - forkedAt);
      }
      if ('event' in reply) return p.onEvent(reply.event);
      pending.delete(reply.id);
      owner.delete(child);
      release(child);
      if ('result' in reply) p.resolve({ result: reply.result });
      else
        p.reject(
          reply.error.code
            ? new AppError(reply.error.code, reply.error.message, reply.error.details, { status: reply.error.status })
            : new Error(reply.error.message),
        );
    });
    child.on('exit', (code, sig) => {
      all.delete(child);
      starting.delete(child);
      const i = idle.indexOf(child);
      if (i >= 0) idle.splice(i, 1);
      const id = owner.get(child);
      if (id !== undefined) {
        owner.delete(child);
        pending.get(id)?.reject(new Error(`the catalog step process exited (${sig ?? code})`));
        pending.delete(id);
      }
      // A waiter whose child died gets a fresh one.
      if (!closed && waiters.length && all.size < size) waiters.shift()!(spawn());
    });
    return child;
  };

  const release = (child: ChildProcess) => {
    const waiter = waiters.shift();
    if (waiter) waiter(child);
    else idle.push(child);
  };

  const acquire = (): Promise<ChildProcess> => {
    const child = idle.pop();
    if (child) return Promise.resolve(child);
    if (all.size < size) return Promise.resolve(spawn());
    return new Promise((resolve) => waiters.push(resolve));
  };

  return {
    async run(task, onEvent = () => undefined) {
      if (closed) throw new Error('the catalog step pool is closed');
      const asked = performance.now();
      const child = await acquire();
      const childWaitMs = Math.round(performance.now() - asked);
      const id = nextId++;
      const entry: Pending = { resolve: () => undefined, reject: () => undefined, onEvent };
      const outcome = await new Promise<Pick<StepPoolOutcome, 'result'>>((resolve, reject) => {
        Object.assign(entry, { resolve, reject });
        pending.set(id, entry);
        owner.set(child, id);
        child.send({ id, task } satisfies StepChildRequest);
      });
      return { ...outcome, childWaitMs, childStartMs: entry.childStartMs ?? 0 };
    },
    busy: () => pending.size > 0 || waiters.length > 0,
    setFrozen(value) {
      if (value === frozen || closed) return;
      frozen = value;
      signalAll(value ? 'SIGSTOP' : 'SIGCONT');
      if (!value) {
        thaw?.resolve();
        thaw = undefined;
      }
    },
    thawed() {
      if (!frozen) return Promise.resolve();
      if (!thaw) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        thaw = { promise, resolve };
      }
      return thaw.promise;
    },
    async close() {
      closed = true;
      if (frozen) signalAll('SIGCONT');
      frozen = false;
      thaw?.resolve();
      thaw = undefined;
      await Promise.all(
        [...all].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
