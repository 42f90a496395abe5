import type { CdnConfig } from '../cdn/config.js';
import type { RedisConnection } from '../lib/redis.js';
import type { ModelsConfig } from '../models/config.js';
import type { GeneratorConfig } from '../models/generator/index.js';
import type { BatchConfig } from '../workers/batches/config.js';
import type { WorkersConfig } from '../workers/config.js';
import type { ConnectorsConfig } from '../workers/webhooks/config.js';
import type { ApiConfig } from './config.js';
import type { ObjectStorage } from '../cdn/storage.js';
import type { Metrics } from '../lib/metrics.js';
import type { Queues } from '../workers/queues.js';
import type { RunStore } from '../workers/run-store.js';
import type { Connectors } from '../workers/webhooks/connectors.js';
import type { BatchEventSink } from '../workers/batches/events.js';
import type { BatchLane } from '../workers/batches/submit.js';
import type { AssetStore } from '../records/asset-store.js';
import type { TemplateStore } from '../records/template-store.js';
import type { TenantStore } from './tenants.js';
import type { TenantDeletionStore } from '../records/tenant-deletions.js';
import type { TemplateUsage } from '../workers/template-usage.js';
import type { TakedownDeps } from '../workers/takedown.js';

/**
 * Every folder's configuration, as the composition root reads it once per process
 * (`loadConfig`, bin/config.ts). Declared here, the highest layer that reads all of it, so no
 * route depends on bin/.
 */
export interface AppConfig {
  api: ApiConfig;
  workers: WorkersConfig;
  cdn: CdnConfig;
  models: ModelsConfig;
  /** The operator's scene generator; absent when `GENERATOR_MODEL_PATH` is not set. */
  generator: GeneratorConfig | undefined;
  /** The catalog lane (workers/batches/config.ts). */
  batch: BatchConfig;
  /** URL fetching, webhooks and the bucket inbox (workers/webhooks/config.ts). */
  connectors: ConnectorsConfig;
  logLevel: string;
}

/** Everything the routes need, built once by the composition root (`bin/`). */
export interface ApiDeps {
  config: AppConfig;
  redis: RedisConnection;
  storage: ObjectStorage;
  tenants: TenantStore;
  /** Where each tenant's deletion (a queued job) stands. */
  tenantDeletions: TenantDeletionStore;
  assets: AssetStore;
  runs: RunStore;
  /** Tenant templates over the built-ins. */
  templates: TemplateStore;
  /** Which template each asset's latest run used. */
  templateUsage: TemplateUsage;
  queues: Queues;
  /** Public URL of a stored key (CDN base or the API's own /files route). */
  urlFor: (key: string) => string;
  metrics: Metrics;
  /** The catalog lane: batch submission, control and events. */
  batches: { lane: BatchLane; events: BatchEventSink };
  /** What `DELETE /v1/assets/:id` and `DELETE /v1/tenants/:id` remove and purge with. */
  takedown: TakedownDeps;
  /** Webhooks out and URL ingest. */
  connectors: Connectors;
}
