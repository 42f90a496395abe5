import type { Page } from '../lib/cursor.js';
import type { RedisConnection } from '../lib/redis.js';
import type { ExperimentPlan } from '../lib/experiment-stats.js';

/** Where an experiment stands. Views are split only while `live`; otherwise everyone sees the control. */
export type ExperimentState = 'rendering' | 'live' | 'paused' | 'stopped' | 'failed';

/** States that hold the tenant's quota (MAX_LIVE_EXPERIMENTS_PER_TENANT): the experiment may still split traffic. */
export const ACTIVE_EXPERIMENT_STATES: readonly ExperimentState[] = ['rendering', 'live', 'paused'];

/**
 * An experiment's place in the newest-first list: `<createdAt>|<id>`. `createdAt` is a fixed-width
 * ISO time, so comparing positions as strings orders by time, then id, as the list does.
 */
export const experimentPosition = (e: Pick<Experiment, 'createdAt' | 'id'>): string => `${e.createdAt}|${e.id}`;

/** One creative under test: a recipe (from a template with params, or given whole) and its share of traffic. */
export interface ExperimentVariant {
  id: string;
  weight: number;
  control: boolean;
  /** The template and params it was defined with, when it was (promotion compares them with what each SKU shows). */
  template?: { id: string; params?: Record<string, unknown> };
  recipe: unknown;
}

/** One immutable rendition of a variant for a SKU (`channel` set for a channel layout's). */
export interface VariantRendition {
  channel?: string;
  width: number;
  height: number;
  format: 'avif' | 'webp' | 'jpeg';
  key: string;
}

/** An experiment as stored: what was asked, and what rendering produced. */
export interface Experiment {
  id: string;
  tenantId: string;
  name: string;
  createdAt: string;
  state: ExperimentState;
  skus: Array<{ sku: string; assetId: string }>;
  variants: ExperimentVariant[];
  /** A cookie of the merchant's that carries the visitor id (the `X-Visitor-Id` header always does). */
  visitorCookie?: string;
  plan: ExperimentPlan & { visitorsPerVariant: number };
  /** The catalog batch rendering every variant of every SKU. */
  batchId: string;
  /** variant id → SKU → renditions; filled when the batch completes. */
  renditions?: Record<string, Record<string, VariantRendition[]>>;
  failures?: Array<{ sku: string; variant: string; message: string }>;
  endedAt?: string;
  promoted?: { variant: string; batchId: string | null; queued: number; unchanged: number };
}

/** Per-variant counters (unique visitors and converters are the statistics' trials and successes). */
export interface VariantCounts {
  impressions: number;
  visitors: number;
  conversions: number;
  converters: number;
  value: number;
}

/**
 * An impression, once per visitor and event: the event is new → count it; the visitor is new to
 * the experiment → count a visitor for the variant. Returns 1 when counted, 0 for a repeat.
 */
const IMPRESSION = `
if redis.call('SADD', KEYS[3], ARGV[2] .. '|' .. ARGV[3]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':impressions', 1)
if redis.call('SADD', KEYS[2], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':visitors', 1) end
return 1`;

/**
 * A conversion, once per visitor and event, only from a visitor who saw the experiment (else the
 * numerator would count people the denominator never did). Returns 2 counted, 1 repeat, 0 unseen.
 */
const CONVERSION = `
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return 0 end
if redis.call('SADD', KEYS[3], 'c|' .. ARGV[2] .. '|' .. ARGV[3]) == 0 then return 1 end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':conversions', 1)
redis.call('HINCRBYFLOAT', KEYS[1], ARGV[1] .. ':value', ARGV[4])
if redis.call('SADD', KEYS[4], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':converters', 1) end
return 2`;

/** Experiments (one hash per tenant: id → JSON) and their counters, in Redis. */
export class ExperimentStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private key = (tenantId: string) => `${this.prefix}:experiments:${tenantId}`;
  private tenants = () => `${this.prefix}:experiment-tenants`;
  private counter = (id: string, part: 'n' | 'seen' | 'events' | 'converters') => `${this.prefix}:experiment:${id}:${part}`;

  async get(tenantId: string, id: string): Promise<Experiment | undefined> {
    const raw = await this.redis.hget(this.key(tenantId), id);
    return raw ? (JSON.parse(raw) as Experiment) : undefined;
  }

  async put(experiment: Experiment): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(experiment.tenantId), experiment.id, JSON.stringify(experiment))
      .hset(this.tenants(), experiment.id, experiment.tenantId)
      .exec();
  }

  /** The tenant of an experiment id (the public beacon names only the experiment). */
  async tenantOf(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.tenants(), id)) ?? undefined;
  }

  async count(tenantId: string): Promise<number> {
    return this.redis.hlen(this.key(tenantId));
  }

  /** The tenant's experiments, newest first. */
  async list(tenantId: string): Promise<Experiment[]> {
    const all = Object.values(await this.redis.hgetall(this.key(tenantId))).map((raw) => JSON.parse(raw) as Experiment);
    return all.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /**
   * One page of the tenant's experiments, newest first: those whose position comes after `after`
   * in that order. Positions are unique and fixed, so experiments created during a walk move none.
   */
  async page(tenantId: string, after: string | undefined, limit: number): Promise<Page<Experiment, string>> {
    const ahead = (await this.list(tenantId)).filter((e) => after === undefined || experimentPosition(e) < after);
    const items = ahead.slice(0, limit);
    return { items, ...(ahead.length > limit ? { next: experimentPosition(items[items.length - 1]!) } : {}) };
  }

  /** True when counted; false when this visitor already sent this event. */
  async recordImpression(id: string, variant: string, visitor: string, event: string): Promise<boolean> {
    const keys = [this.counter(id, 'n'), this.counter(id, 'seen'), this.counter(id, 'events')];
    return (await this.redis.eval(IMPRESSION, keys.length, ...keys, variant, visitor, event)) === 1;
  }

  async recordConversion(
    id: string,
    variant: string,
    visitor: string,
    event: string,
    value: number,
  ): Promise<'counted' | 'repeat' | 'unseen'> {
    const keys = [this.counter(id, 'n'), this.counter(id, 'seen'), this.counter(id, 'events'), this.counter(id, 'converters')];
    const result = await this.redis.eval(CONVERSION, keys.length, ...keys, variant, visitor, event, String(value));
    return result === 2 ? 'counted' : result === 1 ? 'repeat' : 'unseen';
  }

  async counts(id: string, variants: readonly string[]): Promise<Record<string, VariantCounts>> {
    const n = await this.redis.hgetall(this.counter(id, 'n'));
    const num = (field: string) => Number(n[field] ?? 0);
    return Object.fromEntries(
      variants.map((v) => [
        v,
        {
          impressions: num(`${v}:impressions`),
          visitors: num(`${v}:visitors`),
          conversions: num(`${v}:conversions`),
          converters: num(`${v}:converters`),
          value: num(`${v}:value`),
        },
      ]),
    );
  }
}
