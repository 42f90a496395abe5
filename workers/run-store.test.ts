import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../test/harness.js';
import { RunStore } from './run-store.js';

describe('RunStore.updateStep (real Redis)', () => {
  const prefix = `test-runs-${randomUUID()}`;
  const redis = createRedis(REDIS_URL, 'test');
  const runs = new RunStore(redis, prefix);
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    await redis.quit();
  });

  const create = async () => {
    const id = `run_${randomUUID()}`;
    await runs.create({
      id,
      tenantId: 't1',
      assetId: 'a1',
      recipe: { steps: [] },
      stepNames: ['render', 'publish'],
      createdAt: new Date().toISOString(),
    });
    return id;
  };

  it('merges a patch into the step, keeping the fields it does not name', async () => {
    const id = await create();
    await runs.updateStep(id, 0, { state: 'active', attempts: 1, startedAt: '2026-01-01T00:00:00.000Z' });
    await runs.updateStep(id, 0, {
      state: 'completed',
      progress: 100,
      durationMs: 1234,
      timings: { decodeMs: 12.5, encodeMs: 80, storageWriteMs: 0 },
      model: 'isnet/quantised "small"',
      template: { id: 'studio', version: '3' },
    });
    const run = await runs.get('t1', id);
    expect(run?.steps[0]).toEqual({
      name: 'render',
      state: 'completed',
      progress: 100,
      attempts: 1,
      startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 1234,
      timings: { decodeMs: 12.5, encodeMs: 80, storageWriteMs: 0 },
      model: 'isnet/quantised "small"',
      template: { id: 'studio', version: '3' },
    });
    // The other step is untouched.
    expect(run?.steps[1]).toEqual({ name: 'publish', state: 'queued', progress: 0, attempts: 0 });
    // An empty object stays an object (Lua's cjson could write an empty table as either).
    await runs.updateStep(id, 1, { timings: {} });
    expect((await runs.get('t1', id))?.steps[1]?.timings).toEqual({});
  });

  it('writes nothing for a run or step that does not exist', async () => {
    await runs.updateStep(`run_${randomUUID()}`, 0, { state: 'active' });
    const id = await create();
    await runs.updateStep(id, 5, { state: 'active' });
    expect(await redis.hkeys(`${prefix}:run:${id}`)).not.toContain('step:5');
  });
});
