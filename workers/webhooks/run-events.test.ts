import { EventEmitter } from 'node:events';
import type { Job, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import type { RunStore } from '../run-store.js';
import type { EventPublisher } from './publisher.js';
import { watchRunEvents } from './run-events.js';

/** A worker's events, a recording publisher and a run store that knows one manifest. */
function harness() {
  const worker = new EventEmitter();
  const published: Array<{ tenantId: string; type: string; data: Record<string, unknown>; key?: string }> = [];
  const publisher: EventPublisher = {
    publish: async (tenantId, type, data, key) => {
      published.push({ tenantId, type, data, ...(key ? { key } : {}) });
      return 'evt';
    },
    replay: async () => undefined,
  };
  const runs = { get: async () => ({ outputs: { manifestUrl: 'https://cdn.example/m.json', manifestKey: 'k' } }) } as unknown as RunStore;
  watchRunEvents(worker as unknown as Worker, { publisher, runs, logger: createLogger('silent') });
  const settle = () => new Promise((r) => setTimeout(r, 10));
  return { worker, published, settle };
}

const job = (name: string, data: Record<string, unknown>, attemptsMade = 1, attempts = 3) =>
  ({ name, data, attemptsMade, opts: { attempts }, finishedOn: Date.parse('2026-01-01T00:00:00Z') }) as unknown as Job;
const step = { tenantId: 'tn_1', assetId: 'ast_1', runId: 'run_1', stepIndex: 0 };

describe('run events from worker events', () => {
  it('emits run.completed when publish completes, keyed by the run', async () => {
    const { worker, published, settle } = harness();
    worker.emit('completed', job('render', step), {});
    worker.emit('completed', job('publish', { ...step, stepIndex: 1 }), {});
    await settle();
    expect(published).toEqual([
      {
        tenantId: 'tn_1',
        type: 'run.completed',
        key: 'run_1',
        data: {
          runId: 'run_1',
          assetId: 'ast_1',
          state: 'completed',
          finishedAt: '2026-01-01T00:00:00.000Z',
          manifestUrl: 'https://cdn.example/m.json',
        },
      },
    ]);
  });

  it('emits run.failed only when a step fails for good', async () => {
    const { worker, published, settle } = harness();
    worker.emit('failed', job('render', step, 1, 3), new Error('INTERNAL: boom'));
    expect(published).toEqual([]);
    const unrecoverable = Object.assign(new Error('CORRUPT_IMAGE: bad bytes'), { name: 'UnrecoverableError' });
    worker.emit('failed', job('render', step, 1, 3), unrecoverable);
    worker.emit('failed', job('upscale', step, 3, 3), new Error('STORAGE_ERROR: gone'));
    await settle();
    expect(published.map((p) => [p.type, p.key, (p.data.error as { code: string }).code, p.data.step])).toEqual([
      ['run.failed', 'run_1', 'CORRUPT_IMAGE', 'render'],
      ['run.failed', 'run_1', 'STORAGE_ERROR', 'upscale'],
    ]);
  });

  it('ignores jobs that are not a step of a run (purge, webhooks, batch items)', async () => {
    const { worker, published, settle } = harness();
    worker.emit('completed', job('purge', {}), {});
    worker.emit('failed', job('deliver-webhook', { deliveryId: 'dlv_x' }, 15, 15), new Error('x'));
    worker.emit('failed', job('batch-item', { batchId: 'bat_1', tenantId: 'tn_1', line: 2 }, 3, 3), new Error('x'));
    worker.emit('failed', undefined, new Error('x'));
    await settle();
    expect(published).toEqual([]);
  });
});
