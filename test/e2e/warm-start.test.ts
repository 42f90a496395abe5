/**
 * MODELS_WARM means what it says for sandboxed inference: a worker process forks its inference
 * child and the child loads the model before the worker reports ready, so the first job finds an
 * open session (bench/warm-start.ts measures what that saves). A real worker process, a real model.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../faults/worker-process.js';
import { isAlive, waitFor } from '../faults/wait.js';
import { deleteKeys, REDIS_URL } from '../harness.js';

interface LogLine {
  msg?: string;
  pid?: number;
  process?: string;
  model?: string;
  time?: number;
}

const lines = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

describe('warm start of an inference worker', { timeout: 300_000 }, () => {
  const prefix = `test-${randomUUID()}`;
  let dataDir: string | undefined;
  let worker: WorkerProcess | undefined;
  afterAll(async () => {
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await deleteKeys(`${prefix}:*`);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('loads MODELS_WARM in its inference child before it says ready, and takes the child down on SIGTERM', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'pipeline-warm-'));
    worker = spawnWorker('inference', {
      ...process.env,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      MODELS_WARM: 'isnet-small',
      INFERENCE_CONCURRENCY: '1',
    });
    await worker.ready;
    // The child's lines reach the combined output through their own pipe and may arrive after the
    // worker's `worker ready`: wait for them, then compare the times the lines carry.
    await waitFor("the child's warm-up line", () => worker!.output().includes('"model warmed up"'), 30_000);
    const atReady = lines(worker.output());
    const readyAt = atReady.findIndex((l) => l.msg === 'worker ready');
    const warmedAt = atReady.findIndex((l) => l.msg === 'model warmed up' && l.process === 'inference-child' && l.model === 'isnet-small');
    expect(warmedAt, worker.output()).toBeGreaterThanOrEqual(0);
    expect(readyAt, worker.output()).toBeGreaterThanOrEqual(0);
    expect(atReady[warmedAt]!.time!).toBeLessThanOrEqual(atReady[readyAt]!.time!);
    const childPid = atReady[warmedAt]!.pid!;
    expect(childPid).not.toBe(worker.pid);

    worker.child.kill('SIGTERM');
    await worker.exited;
    expect(worker.child.exitCode).toBe(0);
    for (let i = 0; i < 100 && isAlive(childPid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(childPid)).toBe(false);
    expect(lines(worker.output()).at(-1)?.msg).toMatch(/^stopped in \d+ ms$/);
  });
});
