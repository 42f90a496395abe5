import { z } from 'zod';
import { imgixDefaultWidths } from '../cdn/imgix-params.js';
import { DEFAULT_INLINE_REBUILD_KEYS } from '../records/asset-store.js';
import { envBool, envInt, envIntList, parseEnv, type Env } from '../lib/env.js';
import { trustProxySetting } from './trust-proxy.js';

const schema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default('127.0.0.1'),
    /** Bootstrap admin key: creates tenants and their API keys. */
    ADMIN_API_KEY: z.string().min(24, 'ADMIN_API_KEY must be at least 24 characters').optional(),
    MAX_UPLOAD_BYTES: envInt(50 * 1024 * 1024),
    MAX_JSON_BYTES: envInt(1024 * 1024),
    /** A request body (upload, catalog, JSON) silent this long is cut off with 408 (slow-loris, vanished clients). */
    BODY_IDLE_TIMEOUT_MS: envInt(30_000),
    /**
     * A request body not all arrived after this long is cut off with 408, however steadily it trickles:
     * 300 s lets a MAX_UPLOAD_BYTES upload through at 1.4 Mbit/s, and stays under the 10 min an
     * Idempotency-Key is held while its request runs.
     */
    BODY_TIMEOUT_MS: envInt(300_000),
    /** Where uploads are spooled while they are checked; the OS temp folder by default. */
    UPLOAD_TMP_DIR: z.string().min(1).optional(),
    /** Requests per minute per API key (per client IP without one), shared by every API instance. */
    RATE_LIMIT_PER_MINUTE: envInt(600),
    /** Uploads (`POST /v1/assets`) per minute per API key: a bucket of its own. */
    UPLOAD_RATE_LIMIT_PER_MINUTE: envInt(120),
    /**
     * Which proxies in front of us may name the client in X-Forwarded-For (fastify's trustProxy):
     * false (default: the socket's peer is the client), true, a hop count, or addresses and CIDRs.
     */
    TRUST_PROXY: trustProxySetting,
    /** Work-creating POSTs get 503 while more jobs than this wait, are delayed or run (inference + render). */
    MAX_QUEUE_DEPTH: z.coerce.number().int().min(0).default(10_000),
    /** How often a run's event stream reads the run record to see whether it changed. */
    RUN_EVENTS_POLL_MS: envInt(250),
    /** Comment lines this often keep idle event streams open through proxies. */
    RUN_EVENTS_HEARTBEAT_SECONDS: envInt(15),
    /** Open run event streams one API process serves at once; more get 503. */
    RUN_EVENTS_MAX_STREAMS: envInt(1000),
    /** Lifetime of an admin browser session cookie (the queue admin view). */
    ADMIN_SESSION_TTL_SECONDS: envInt(900),
    /** Templates a tenant may define (`PUT /v1/templates/:id`); built-ins do not count. */
    MAX_TEMPLATES_PER_TENANT: envInt(200),
    /** Experiments a tenant may have rendering, live or paused at once; stopped and failed ones do not count. */
    MAX_LIVE_EXPERIMENTS_PER_TENANT: envInt(20),
    /** A list that finds a tenant's asset index lost rebuilds it itself up to this many objects; past it, in the background (503 meanwhile). */
    ASSET_INDEX_INLINE_REBUILD_KEYS: envInt(DEFAULT_INLINE_REBUILD_KEYS),
    /** Upload checks decoding at once in one process (api/upload-checks.ts). */
    UPLOAD_CHECK_CONCURRENCY: envInt(2),
    /** Memory those decodes may hold together, estimated from each header; also the most one may need. */
    UPLOAD_CHECK_MEMORY_MB: envInt(1024),
    /** Upload checks that may wait for a slot; past it, 503 with Retry-After (and /readyz says so). */
    UPLOAD_CHECK_MAX_WAITING: z.coerce.number().int().min(0).default(32),
    /** On-demand (`/img/…`) output widths, ascending; requests round up to the next one. Default: imgix's srcset ladder. */
    ON_DEMAND_WIDTHS: envIntList(imgixDefaultWidths()),
    /** On-demand transforms running at once in one process (api/on-demand/). */
    ON_DEMAND_CONCURRENCY: envInt(2),
    /** Memory those transforms may hold together, estimated from each source's header. */
    ON_DEMAND_MEMORY_MB: envInt(1536),
    /** Transforms that may wait for a slot; past it, 503 with Retry-After. */
    ON_DEMAND_MAX_WAITING: z.coerce.number().int().min(0).default(32),
    /** A first WebP answered with a cheaper encode while a slot is free, the final one stored behind it (api/on-demand/renderer.ts). */
    ON_DEMAND_PROVISIONAL: envBool(true),
  })
  .transform((e) => ({
    port: e.PORT,
    host: e.HOST,
    adminApiKey: e.ADMIN_API_KEY,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    maxJsonBytes: e.MAX_JSON_BYTES,
    body: { idleMs: e.BODY_IDLE_TIMEOUT_MS, totalMs: e.BODY_TIMEOUT_MS },
    uploadTmpDir: e.UPLOAD_TMP_DIR,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    uploadRateLimitPerMinute: e.UPLOAD_RATE_LIMIT_PER_MINUTE,
    trustProxy: e.TRUST_PROXY,
    maxQueueDepth: e.MAX_QUEUE_DEPTH,
    runEvents: { pollMs: e.RUN_EVENTS_POLL_MS, heartbeatSeconds: e.RUN_EVENTS_HEARTBEAT_SECONDS, maxStreams: e.RUN_EVENTS_MAX_STREAMS },
    adminSessionTtlSeconds: e.ADMIN_SESSION_TTL_SECONDS,
    maxTemplatesPerTenant: e.MAX_TEMPLATES_PER_TENANT,
    maxLiveExperimentsPerTenant: e.MAX_LIVE_EXPERIMENTS_PER_TENANT,
    assetIndexInlineRebuildKeys: e.ASSET_INDEX_INLINE_REBUILD_KEYS,
    uploadChecks: {
      concurrency: e.UPLOAD_CHECK_CONCURRENCY,
      memoryBytes: e.UPLOAD_CHECK_MEMORY_MB * 1024 * 1024,
      maxWaiting: e.UPLOAD_CHECK_MAX_WAITING,
    },
    onDemand: {
      widths: [...e.ON_DEMAND_WIDTHS].sort((a, b) => a - b),
      pool: { concurrency: e.ON_DEMAND_CONCURRENCY, memoryBytes: e.ON_DEMAND_MEMORY_MB * 1024 * 1024, maxWaiting: e.ON_DEMAND_MAX_WAITING },
      provisional: e.ON_DEMAND_PROVISIONAL,
    },
  }));

export type ApiConfig = z.output<typeof schema>;
export const loadApiConfig = (env: Env): ApiConfig => parseEnv(schema, env, 'API');
