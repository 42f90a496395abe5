import type { Queue } from 'bullmq';
import type { RedisConnection } from '../../lib/redis.js';
import type { Logger } from '../../lib/logger.js';
import type { GuardOptions } from '../../lib/safe-fetch-connect.js';
import type { ConnectorsConfig } from './config.js';
import type { DeliveryDeps } from './deliver.js';
import { createEventPublisher, type EventPublisher } from './publisher.js';
import { WebhookStore } from './store.js';

/** Webhooks and URL ingest, built once by the composition root and shared by API and workers. */
export interface Connectors {
  config: ConnectorsConfig;
  store: WebhookStore;
  publisher: EventPublisher;
  /** The address policy for every outbound request made on a tenant's behalf. */
  guard: GuardOptions;
  /** What a worker needs to deliver webhooks. */
  delivery: DeliveryDeps;
}

export function createConnectors(deps: {
  redis: RedisConnection;
  prefix: string;
  publishQueue: Queue;
  config: ConnectorsConfig;
  logger: Logger;
}): Connectors {
  const store = new WebhookStore(deps.redis, deps.prefix);
  const guard: GuardOptions = { allowLoopbackForTests: deps.config.urlFetch.allowLoopbackForTests };
  const publisher = createEventPublisher({ store, queue: deps.publishQueue, config: deps.config.webhooks, logger: deps.logger });
  return { config: deps.config, store, publisher, guard, delivery: { store, config: deps.config.webhooks, guard, logger: deps.logger } };
}
