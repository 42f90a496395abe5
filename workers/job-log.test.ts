import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../test/harness.js';
import { finishedJobLogBindings, jobLogBindings, jobLogger } from './job-log.js';

describe('job log bindings', () => {
  const job = {
    id: 'run_1-0',
    name: 'render',
    queueName: 'render',
    attemptsMade: 1,
    data: { runId: 'run_1', tenantId: 'ten_1', assetId: 'ast_1', stepIndex: 0 },
  };

  it('names the run, tenant, asset, step, job and attempt', () => {
    expect(jobLogBindings(job)).toEqual({
      runId: 'run_1',
      tenantId: 'ten_1',
      assetId: 'ast_1',
      step: 'render',
      jobId: 'run_1-0',
      attempt: 2,
      queue: 'render',
    });
    expect(jobLogBindings(job, 1).attempt).toBe(1);
  });

  it('leaves out what a job that serves many runs does not have', () => {
    expect(jobLogBindings({ id: 'p1', name: 'purge', attemptsMade: 0, data: {} })).toEqual({ step: 'purge', jobId: 'p1', attempt: 1 });
  });

  it('puts the bindings on every line of the child logger', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const log = jobLogger(pino({ base: null }, sink), job);
    log.info('one');
    log.warn({ extra: 1 }, 'two');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatchObject({ runId: 'run_1', tenantId: 'ten_1', step: 'render', attempt: 2 });
  });
});

describe('the attempt a finished job names', () => {
  const prefix = `test-${randomUUID()}`;
  const connection = createRedis(REDIS_URL, 'job-log-test');
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    await connection.quit();
  });

  it('is the attempt that just ran: BullMQ has counted it in attemptsMade before completed and failed fire', async () => {
    const queue = new Queue('attempts', { connection, prefix });
    const seen: Array<{ event: string; attempt: unknown }> = [];
    let runs = 0;
    const worker = new Worker(
      'attempts',
      async () => {
        if (++runs === 1) throw new Error('first attempt fails');
        return 'ok';
      },
      { connection, prefix },
    );
    const done = new Promise<void>((resolve) => {
      worker.on('active', (job) => seen.push({ event: 'active', attempt: jobLogBindings(job).attempt }));
      worker.on('failed', (job) => seen.push({ event: 'failed', attempt: finishedJobLogBindings(job!).attempt }));
      worker.on('completed', (job) => {
        seen.push({ event: 'completed', attempt: finishedJobLogBindings(job).attempt });
        resolve();
      });
    });
    await queue.add('render', {}, { attempts: 2 });
    await done;
    await worker.close();
    await queue.close();
    expect(seen).toEqual([
      { event: 'active', attempt: 1 },
      { event: 'failed', attempt: 1 },
      { event: 'active', attempt: 2 },
      { event: 'completed', attempt: 2 },
    ]);
  });
});
