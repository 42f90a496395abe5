import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startService, type Service } from '../../bin/service.js';
import type { Env } from '../../lib/env.js';
import { checkAnswersFrom, stopCheckingAnswersFrom } from '../contract/checked-fetch.js';
import { localServiceEnv } from '../harness.js';
import { startOwnRedis, type OwnRedis } from './redis-server.js';

/** A service on the suite's own redis-server, with the environment it was built from. */
export interface FaultService extends Service {
  url: string;
  env: Env;
  redis: OwnRedis;
  dataDir: string;
  /** Close the service, then stop Redis and remove every folder. */
  stop(): Promise<void>;
}

export async function startFaultService(
  overrides: Env = {},
  workerQueues?: Array<'inference' | 'render' | 'publish'>,
): Promise<FaultService> {
  const redis = await startOwnRedis();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fault-service-'));
  const env: Env = {
    ...localServiceEnv(dataDir),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `fault-${randomUUID()}`,
    ...overrides,
  };
  const service = await startService({ env, ...(workerQueues ? { workerQueues } : {}) });
  // What the API answers while a part is down must be in the document too.
  checkAnswersFrom(service.url!);
  return {
    ...service,
    url: service.url!,
    env,
    redis,
    dataDir,
    async stop() {
      stopCheckingAnswersFrom(service.url!);
      try {
        await service.close();
      } finally {
        await redis.destroy();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
