import type { RedisConnection } from '../lib/redis.js';
import type { ErrorCode } from '../lib/errors.js';
import type { Recipe } from './recipe.js';

export type StepState = 'queued' | 'active' | 'retrying' | 'completed' | 'failed';
export type RunState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface StepRecord {
  name: string;
  state: StepState;
  /** 0..100 */
  progress: number;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: ErrorCode; message: string };
  /** Wall time of the attempt that completed the step. */
  durationMs?: number;
  /** Where that time went (decode, inference, encode…), as the step reported it. */
  timings?: Record<string, number>;
  /** The model a step ran, for AI steps. */
  model?: string;
  /** The scene template a generate step applied (id and version). */
  template?: { id: string; version: string };
}

export interface RunRecord {
  id: string;
  tenantId: string;
  assetId: string;
  recipe: Recipe;
  state: RunState;
  /** Overall progress 0..100: the mean of the steps'. */
  progress: number;
  steps: StepRecord[];
  createdAt: string;
  finishedAt?: string;
  error?: { code: ErrorCode; message: string };
  outputs?: { manifestUrl: string; manifestKey: string };
  /** The CDN purge that follows publishing; its failure never fails the run. */
  purge?: PurgeRecord;
}

export interface PurgeRecord {
  state: 'queued' | 'active' | 'retrying' | 'completed' | 'failed';
  attempts: number;
  error?: { code: ErrorCode; message: string };
  /** What the CDN driver reported, once completed. */
  result?: { driver: string; purgedKeys: number; purgedUrls: number; requests: number };
}

interface RunMeta {
  id: string;
  tenantId: string;
  assetId: string;
  recipe: Recipe;
  stepNames: string[];
  createdAt: string;
}

/** Run records live this long after their last write (they are rebuilt from manifests, not kept forever). */
const RUN_TTL_SECONDS = 30 * 24 * 3600;
/** How many run ids an asset remembers. */
const RUNS_PER_ASSET = 100;

/** Merge ARGV[2]'s fields into the JSON object in hash field ARGV[1], if it exists. */
const MERGE_STEP = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local record = cjson.decode(current)
for k, v in pairs(cjson.decode(ARGV[2])) do record[k] = v end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return 1`;

/**
 * Run records in Redis. Each step has its own hash field, so concurrent updates of different
 * steps never overwrite each other; the run's state is derived on read, never stored twice.
 */
export class RunStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private key = (runId: string) => `${this.prefix}:run:${runId}`;
  private assetRunsKey = (tenantId: string, assetId: string) => `${this.prefix}:asset-runs:${tenantId}:${assetId}`;

  async create(meta: RunMeta): Promise<RunRecord> {
    const steps: StepRecord[] = meta.stepNames.map((name) => ({ name, state: 'queued', progress: 0, attempts: 0 }));
    const fields: Record<string, string> = { meta: JSON.stringify(meta) };
    steps.forEach((s, i) => (fields[`step:${i}`] = JSON.stringify(s)));
    await this.redis
      .multi()
      .hset(this.key(meta.id), fields)
      .expire(this.key(meta.id), RUN_TTL_SECONDS)
      .lpush(this.assetRunsKey(meta.tenantId, meta.assetId), meta.id)
      .ltrim(this.assetRunsKey(meta.tenantId, meta.assetId), 0, RUNS_PER_ASSET - 1)
      .exec();
    return derive(meta, steps, {});
  }

  /** A run of this tenant, or `undefined` (also when it belongs to someone else). */
  async get(tenantId: string, runId: string): Promise<RunRecord | undefined> {
    const all = await this.redis.hgetall(this.key(runId));
    if (!all.meta) return undefined;
    const meta = JSON.parse(all.meta) as RunMeta;
    if (meta.tenantId !== tenantId) return undefined;
    const steps = meta.stepNames.map((_, i) => JSON.parse(all[`step:${i}`] ?? 'null') as StepRecord);
    return derive(meta, steps, all);
  }

  async runIdsOfAsset(tenantId: string, assetId: string): Promise<string[]> {
    return this.redis.lrange(this.assetRunsKey(tenantId, assetId), 0, -1);
  }

  /**
   * Merge a patch into one step's record (its top-level fields), in Redis: one round trip where a
   * read and a write took two, and four of them are paid for every catalog item. A step is
   * processed by one job at a time, so no other writer races it anyway.
   */
  async updateStep(runId: string, index: number, patch: Partial<StepRecord>): Promise<void> {
    await this.redis.eval(MERGE_STEP, 1, this.key(runId), `step:${index}`, JSON.stringify(patch));
  }

  async setOutputs(runId: string, outputs: NonNullable<RunRecord['outputs']>): Promise<void> {
    await this.redis.hset(this.key(runId), 'outputs', JSON.stringify(outputs), 'finishedAt', new Date().toISOString());
  }

  async setPurge(runId: string, purge: PurgeRecord): Promise<void> {
    await this.redis.hset(this.key(runId), 'purge', JSON.stringify(purge));
  }

  /**
   * Mark a run cancelled (its asset was taken down). Its state reads `cancelled` at once; publish
   * checks this before writing and again after, so a cancelled run publishes nothing.
   */
  async cancel(runId: string): Promise<void> {
    if (await this.redis.exists(this.key(runId))) await this.redis.hset(this.key(runId), 'cancelled', new Date().toISOString());
  }

  async isCancelled(runId: string): Promise<boolean> {
    return (await this.redis.hexists(this.key(runId), 'cancelled')) === 1;
  }

  async fail(runId: string, error: NonNullable<RunRecord['error']>): Promise<void> {
    await this.redis.hset(this.key(runId), 'error', JSON.stringify(error), 'finishedAt', new Date().toISOString());
  }
}

function derive(meta: RunMeta, steps: StepRecord[], fields: Record<string, string>): RunRecord {
  const error = fields.error ? (JSON.parse(fields.error) as RunRecord['error']) : undefined;
  const outputs = fields.outputs ? (JSON.parse(fields.outputs) as RunRecord['outputs']) : undefined;
  const purge = fields.purge ? (JSON.parse(fields.purge) as PurgeRecord) : undefined;
  const state: RunState = fields.cancelled
    ? 'cancelled'
    : error
      ? 'failed'
      : outputs && steps.every((s) => s.state === 'completed')
        ? 'completed'
        : steps.some((s) => s.state !== 'queued')
          ? 'running'
          : 'queued';
  const progress = Math.round(steps.reduce((sum, s) => sum + s.progress, 0) / Math.max(steps.length, 1));
  return {
    id: meta.id,
    tenantId: meta.tenantId,
    assetId: meta.assetId,
    recipe: meta.recipe,
    state,
    progress,
    steps,
    createdAt: meta.createdAt,
    ...((fields.finishedAt ?? fields.cancelled) ? { finishedAt: fields.finishedAt ?? fields.cancelled } : {}),
    ...(error ? { error } : {}),
    ...(outputs ? { outputs } : {}),
    ...(purge ? { purge } : {}),
  };
}
