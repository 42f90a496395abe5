import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { createMetrics } from '../lib/metrics.js';
import { createRedis } from '../lib/redis.js';
import { loadWorkersConfig } from './config.js';
import { startWorkers, type WorkerHostDeps } from './worker-host.js';

const config = loadWorkersConfig({ QUEUE_PREFIX: `test-${randomUUID()}`, SANDBOXED_PROCESSORS: 'false' });
const connection = createRedis(config.redis, 'workers');
afterAll(() => connection.quit());

describe('startWorkers', () => {
  it('refuses to start a queue one of whose jobs has no handler in this process', () => {
    // No catalog lane configured: the batch queue's one job (batch-item) cannot run here.
    const deps = {
      config,
      connection,
      logger: createLogger('silent'),
      metrics: createMetrics(() => []),
      runs: {},
      jobs: {},
      publisher: {},
      webhooks: { publisher: {} },
    } as unknown as WorkerHostDeps;
    let host: ReturnType<typeof startWorkers> | undefined;
    expect(() => (host = startWorkers(deps, ['batch']))).toThrow(/batch-item/);
    return host?.close();
  });
});
