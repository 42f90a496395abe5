import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { createRedis } from '../../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../../test/harness.js';
import { watchQueueActivity } from './queue-activity.js';

describe('interactive queue activity, from BullMQ event streams (real Redis)', () => {
  const prefix = `test-${randomUUID()}`;
  const redis = createRedis(REDIS_URL, 'queue-activity-test');
  const render = new Queue('render', { connection: redis, prefix });
  const publish = new Queue('publish', { connection: redis, prefix });
  afterAll(async () => {
    await Promise.all([render.close(), publish.close()]);
    await deleteKeys(`${prefix}:*`);
    await redis.quit();
  });

  const until = async (check: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return check();
  };

  it('wakes when a job is added to any watched queue, stays quiet otherwise, and stops', async () => {
    let woken = 0;
    const watch = watchQueueActivity({ redis, queues: [render, publish], onActivity: () => woken++, logger: createLogger('silent') });
    // The first read starts at '$': give it a moment to be blocking before anything is added.
    await new Promise((r) => setTimeout(r, 200));
    expect(woken).toBe(0);
    await publish.add('publish', { n: 1 });
    expect(await until(() => woken >= 1)).toBe(true);
    const afterFirst = woken;
    await new Promise((r) => setTimeout(r, 300));
    expect(woken).toBe(afterFirst);
    await render.add('render', { n: 2 }, { priority: 5 });
    expect(await until(() => woken > afterFirst)).toBe(true);
    watch.stop();
    const atStop = woken;
    await render.add('render', { n: 3 });
    await new Promise((r) => setTimeout(r, 300));
    expect(woken).toBe(atStop);
  });
});
