import { AssetStore } from '../records/asset-store.js';
import { batchSourceResolver } from '../api/batch-sources.js';
import { prepareRun } from '../api/start-run.js';
import { TemplateStore } from '../records/template-store.js';
import type { ObjectStorage } from '../cdn/storage.js';
import type { AppConfig } from '../api/deps.js';
import type { Env } from '../lib/env.js';
import type { Logger } from '../lib/logger.js';
import type { RedisConnection } from '../lib/redis.js';
import { noBatchEvents, type BatchEventSink } from '../workers/batches/events.js';
import type { BatchItemDeps } from '../workers/batches/item.js';
import { createStepPool, type StepPool } from '../workers/batches/step-pool.js';
import { BatchStore } from '../workers/batches/store.js';
import { watchQueueActivity } from '../workers/batches/queue-activity.js';
import { startYieldGovernor } from '../workers/batches/yield-governor.js';
import type { BatchLane } from '../workers/batches/submit.js';
import type { PublishDeps } from '../workers/processors/publish.js';
import type { Queues } from '../workers/queues.js';
import type { RunStore } from '../workers/run-store.js';
import type { ConnectorsConfig } from '../workers/webhooks/config.js';

export interface BatchLaneParts {
  /** What the API's batch routes (and `submitBatchItems` callers) need. */
  api: { lane: BatchLane; events: BatchEventSink };
  /** The batch worker's dependencies; undefined where this process runs no batch worker. */
  worker: BatchItemDeps | undefined;
  close(): Promise<void>;
}

/** Wire the catalog lane: its records, its queue, its low-priority step processes and its event sink. */
export function createBatchLane(input: {
  env: Env;
  config: AppConfig;
  redis: RedisConnection;
  storage: ObjectStorage;
  queues: Queues;
  runs: RunStore;
  publish: PublishDeps;
  logger: Logger;
  events?: BatchEventSink | undefined;
  withWorker: boolean;
  /** URL fetching and the bucket inbox, as the connectors are configured (workers/webhooks/config.ts). */
  connectors: ConnectorsConfig;
}): BatchLaneParts {
  const { config } = input;
  const batchConfig = config.batch;
  const store = new BatchStore(input.redis, config.workers.queuePrefix);
  const events = input.events ?? noBatchEvents;
  const lane: BatchLane = {
    store,
    queue: input.queues.queues.batch,
    config: batchConfig,
    attempts: config.workers.attempts,
    logger: input.logger,
    events,
  };
  let pool: StepPool | undefined;
  let governor: { stop(): void } | undefined;
  if (input.withWorker) {
    pool = createStepPool(config.workers.concurrency.batch, input.env);
    if (batchConfig.yieldMaxMs > 0) {
      // Publish too: an interactive run's last job writes its stable URLs and manifest, and the
      // catalog's own publishes (in this process) would compete with it for the disk or the bucket.
      const { render, inference, publish } = input.queues.queues;
      const interactive = [render, inference, publish];
      governor = startYieldGovernor({
        interactive,
        target: pool,
        maxYieldMs: batchConfig.yieldMaxMs,
        logger: input.logger,
        activity: (onActivity) => watchQueueActivity({ redis: input.redis, queues: interactive, onActivity, logger: input.logger }),
      });
    }
  }
  // Catalog items name templates like interactive runs do: resolved the same way, per tenant.
  const templateResolver = {
    templates: new TemplateStore(input.redis, config.workers.queuePrefix, config.api.maxTemplatesPerTenant),
    assets: new AssetStore(input.storage, input.redis, config.workers.queuePrefix),
    config,
  };
  const worker: BatchItemDeps | undefined = pool && {
    store,
    config: batchConfig,
    events,
    resolveSource: batchSourceResolver({
      storage: input.storage,
      assets: new AssetStore(input.storage, input.redis, config.workers.queuePrefix),
      limits: { maxUploadBytes: config.api.maxUploadBytes, decode: config.workers.decodeLimits },
      inboxFolder: input.connectors.inbox?.folder ?? 'inbox',
      fetch: input.connectors.urlFetch,
    }),
    admitRecipe: async (tenantId, recipe, source) => (await prepareRun(templateResolver, tenantId, recipe, source)).valid,
    runs: input.runs,
    steps: pool,
    publish: input.publish,
    defaultWidths: config.workers.renderWidths,
    logger: input.logger,
  };
  return {
    api: { lane, events },
    worker,
    close: async () => {
      governor?.stop();
      await pool?.close();
    },
  };
}
