import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { jobLogBindings, jobLogger } from './job-log.js';

describe('job log bindings', () => {
  const job = { id: 'run_1-0', name: 'render', queueName: 'render', attemptsMade: 1, data: { runId: 'run_1', tenantId: 'ten_1', assetId: 'ast_1', stepIndex: 0 } };

  it('names the run, tenant, asset, step, job and attempt', () => {
    expect(jobLogBindings(job)).toEqual({ runId: 'run_1', tenantId: 'ten_1', assetId: 'ast_1', step: 'render', jobId: 'run_1-0', attempt: 2, queue: 'render' });
    expect(jobLogBindings(job, 1).attempt).toBe(1);
  });

  it('leaves out what a job that serves many runs does not have', () => {
    expect(jobLogBindings({ id: 'p1', name: 'purge', attemptsMade: 0, data: {} })).toEqual({ step: 'purge', jobId: 'p1', attempt: 1 });
  });

  it('puts the bindings on every line of the child logger', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const log = jobLogger(pino({ base: null }, sink), job);
    log.info('one');
    log.warn({ extra: 1 }, 'two');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatchObject({ runId: 'run_1', tenantId: 'ten_1', step: 'render', attempt: 2 });
  });
});
