import { fillPage, type Page } from '../../lib/cursor.js';
import type { ChainableCommander } from 'ioredis';
import { execReplies, type RedisConnection } from '../../lib/redis.js';
import type { ErrorCode } from '../../lib/errors.js';
import type { Recipe } from '../recipe.js';
import type { BatchEventCounts } from './events.js';
import type { BatchSource } from './items.js';
import { batchPace, ETA_WINDOW_ITEMS } from './rates.js';

/** Where an item stands. `duplicate`: the same work belongs to an earlier batch (see its owner). */
export type ItemState = 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled' | 'duplicate';
export type BatchState = 'running' | 'paused' | 'cancelled' | 'completed';

/** An item as submitted; written once. Lines that failed validation keep their error here. */
export interface StoredItem {
  sku?: string;
  source?: BatchSource;
  recipe?: Recipe;
  key?: string;
  /** False: render only, publish nothing mutable (see BatchItem.publish). */
  publish?: false;
}

/** What running an item produced (or why it failed). */
export interface ItemResult {
  runId?: string;
  assetId?: string;
  manifestUrl?: string;
  urls?: string[];
  /** For an item rendered without publishing: its immutable renditions (`channel` set for a channel layout's). */
  renditions?: RenderedRendition[];
  error?: { code: ErrorCode; message: string };
}

/** One immutable rendition an unpublished item rendered. */
export interface RenderedRendition {
  channel?: string;
  width: number;
  height: number;
  format: 'avif' | 'webp' | 'jpeg';
  key: string;
}

export interface BatchMeta {
  id: string;
  tenantId: string;
  createdAt: string;
  /** Who asked: `api`, `cli`, or a module (a template change). */
  origin: string;
  state: 'running' | 'paused' | 'cancelled';
  /** Last line number used. */
  lines: number;
  /** When its first item started running (the start of its throughput); absent until then. */
  startedAt?: string;
  finishedAt?: string;
}

export interface BatchFailure {
  line: number;
  sku: string;
  code: ErrorCode;
  message: string;
}

export interface BatchStatus {
  id: string;
  state: BatchState;
  counts: BatchEventCounts;
  throughputPerMinute: number;
  etaSeconds: number | null;
  createdAt: string;
  failures: BatchFailure[];
  /** Lines whose work an earlier batch already did or is doing: not run again, not in `total`. */
  duplicates: number;
  origin: string;
  finishedAt?: string;
}

/** Batches and their items live this long (like run records). */
export const BATCH_TTL_SECONDS = 30 * 24 * 3600;
/** Failures listed in a status; `counts.failed` counts them all. */
export const FAILURES_SHOWN = 1000;

const COUNT_FIELDS = ['total', 'waiting', 'active', 'completed', 'failed', 'cancelled', 'duplicates'] as const;

/**
 * Move one item from one of `from` states to `to`, keeping the counters, the waiting set and the
 * finish log in step, atomically: a retried job or a racing pause can never count an item twice.
 * The first item to start stamps the batch's `startedAt`. Returns {moved, waiting, active}.
 */
const TRANSITION = `
local state = redis.call('HGET', KEYS[1], ARGV[1])
if not state then return {0, -1, -1} end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == state then allowed = true end end
if not allowed then return {0, -1, -1} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], state, -1)
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
if state == 'waiting' then redis.call('SREM', KEYS[3], ARGV[1]) end
if ARGV[3] == 'active' then redis.call('HSETNX', KEYS[7], 'startedAt', ARGV[7]) end
if ARGV[3] == 'completed' or ARGV[3] == 'failed' then redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[5], ARGV[1], ARGV[5]) end
if ARGV[6] ~= '' then redis.call('RPUSH', KEYS[6], ARGV[6]) end
local n = redis.call('HMGET', KEYS[2], 'waiting', 'active')
return {1, tonumber(n[1]) or 0, tonumber(n[2]) or 0}
`;

/** Batch records in Redis: counters are the truth for status; items and results for the export. */
export class BatchStore {
  constructor(
    readonly redis: RedisConnection,
    readonly prefix: string,
  ) {}

  key = (batchId: string, part: 'meta' | 'n' | 'items' | 'state' | 'result' | 'waiting' | 'parked' | 'failures' | 'done') =>
    `${this.prefix}:batch:${batchId}:${part}`;
  tenantIndex = (tenantId: string) => `${this.prefix}:batches:${tenantId}`;
  /** item key → `<batchId>/<line>` of the batch that owns that work. */
  owners = (tenantId: string) => `${this.prefix}:batch-owners:${tenantId}`;

  allKeys(batchId: string): string[] {
    return (['meta', 'n', 'items', 'state', 'result', 'waiting', 'parked', 'failures', 'done'] as const).map((p) => this.key(batchId, p));
  }

  async create(meta: Omit<BatchMeta, 'lines'>): Promise<void> {
    const multi = this.redis
      .multi()
      .hset(this.key(meta.id, 'meta'), { ...meta, lines: 0 })
      .hset(this.key(meta.id, 'n'), Object.fromEntries(COUNT_FIELDS.map((f) => [f, 0])));
    for (const k of this.allKeys(meta.id)) multi.expire(k, BATCH_TTL_SECONDS);
    await multi.exec();
  }

  /** Make the batch visible in the tenant's list (once every line is in). */
  async publish(meta: { id: string; tenantId: string; createdAt: string }, lines: number): Promise<void> {
    const multi = this.redis
      .multi()
      .hset(this.key(meta.id, 'meta'), 'lines', lines)
      .zadd(this.tenantIndex(meta.tenantId), Date.parse(meta.createdAt), meta.id);
    // Keys created after `create` (sets, lists) get the same lifetime.
    for (const k of this.allKeys(meta.id)) multi.expire(k, BATCH_TTL_SECONDS);
    await multi.exec();
  }

  async meta(batchId: string): Promise<BatchMeta | undefined> {
    return toBatchMeta(await this.redis.hgetall(this.key(batchId, 'meta')));
  }

  /** The batch if it belongs to this tenant. */
  async metaOf(tenantId: string, batchId: string): Promise<BatchMeta | undefined> {
    if (!/^bat_[0-9a-f]{32}$/.test(batchId)) return undefined;
    const meta = await this.meta(batchId);
    return meta && meta.tenantId === tenantId ? meta : undefined;
  }

  async setState(batchId: string, state: BatchMeta['state']): Promise<void> {
    await this.redis.hset(this.key(batchId, 'meta'), 'state', state);
  }

  async counts(batchId: string): Promise<BatchEventCounts & { duplicates: number }> {
    const values = await this.redis.hmget(this.key(batchId, 'n'), ...COUNT_FIELDS);
    const [total, waiting, active, completed, failed, cancelled, duplicates] = values.map((v) => Number(v ?? 0)) as number[];
    return {
      total: total!,
      waiting: waiting!,
      active: active!,
      completed: completed!,
      failed: failed!,
      cancelled: cancelled!,
      duplicates: duplicates!,
    };
  }

  async item(batchId: string, line: number): Promise<StoredItemState> {
    const [item, state, result] = (await execReplies(this.readItem(this.redis.pipeline(), batchId, line))) as ItemReplies;
    return toItemState(item, state, result);
  }

  /**
   * The batch and one of its items, in one write to Redis and one reply: the first thing every
   * catalog item's job reads (four separate commands were four socket writes, each about as dear
   * as an item's storage call on a busy machine).
   */
  async itemAndMeta(batchId: string, line: number): Promise<StoredItemState & { meta: BatchMeta | undefined }> {
    const reads = this.readItem(this.redis.pipeline().hgetall(this.key(batchId, 'meta')), batchId, line);
    const [meta, item, state, result] = (await execReplies(reads)) as [Record<string, string>, ...ItemReplies];
    return { meta: toBatchMeta(meta), ...toItemState(item, state, result) };
  }

  /** The three reads of an item (its record, state and result), added to `commands`. */
  private readItem(commands: ChainableCommander, batchId: string, line: number): ChainableCommander {
    return commands
      .hget(this.key(batchId, 'items'), String(line))
      .hget(this.key(batchId, 'state'), String(line))
      .hget(this.key(batchId, 'result'), String(line));
  }

  async setResult(batchId: string, line: number, result: ItemResult): Promise<void> {
    await this.redis.hset(this.key(batchId, 'result'), String(line), JSON.stringify(result));
  }

  /** See {@link TRANSITION}. `failure` is appended to the failures list when the move happens. */
  async transition(
    batchId: string,
    line: number,
    from: ItemState[],
    to: ItemState,
    extra: { result?: ItemResult; failure?: BatchFailure } = {},
  ): Promise<{ moved: boolean; waiting: number; active: number }> {
    const now = new Date();
    const out = (await this.redis.eval(
      TRANSITION,
      7,
      this.key(batchId, 'state'),
      this.key(batchId, 'n'),
      this.key(batchId, 'waiting'),
      this.key(batchId, 'done'),
      this.key(batchId, 'result'),
      this.key(batchId, 'failures'),
      this.key(batchId, 'meta'),
      String(line),
      from.join(','),
      to,
      String(now.getTime()),
      extra.result ? JSON.stringify(extra.result) : '',
      extra.failure ? JSON.stringify(extra.failure) : '',
      now.toISOString(),
    )) as [number, number, number];
    return { moved: out[0] === 1, waiting: out[1], active: out[2] };
  }

  /** Record the finish once; true for the one caller that did. */
  async markFinished(batchId: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.key(batchId, 'meta'), 'finishedAt', new Date().toISOString())) === 1;
  }

  async status(meta: BatchMeta): Promise<BatchStatus> {
    const [counts, rawFailures, finished, recent] = await Promise.all([
      this.counts(meta.id),
      this.redis.lrange(this.key(meta.id, 'failures'), 0, FAILURES_SHOWN - 1),
      this.redis.zcard(this.key(meta.id, 'done')),
      this.redis.zrevrange(this.key(meta.id, 'done'), 0, ETA_WINDOW_ITEMS - 1, 'WITHSCORES'),
    ]);
    const { duplicates, ...eventCounts } = counts;
    const pending = counts.waiting + counts.active;
    // A batch paused while its last items ran is complete once they end (and says so in its event).
    const state: BatchState =
      meta.state === 'cancelled' ? 'cancelled' : pending === 0 ? 'completed' : meta.state === 'paused' ? 'paused' : 'running';
    const { throughputPerMinute, etaSeconds } = batchPace({
      // A batch from before `startedAt` was recorded counts from its submission.
      startedAt: Date.parse(meta.startedAt ?? meta.createdAt),
      ...(meta.finishedAt ? { finishedAt: Date.parse(meta.finishedAt) } : {}),
      now: Date.now(),
      finished,
      pending,
      running: state === 'running',
      recentFinishes: recent.filter((_, i) => i % 2 === 1).map(Number),
    });
    return {
      id: meta.id,
      state,
      counts: eventCounts,
      throughputPerMinute,
      etaSeconds,
      createdAt: meta.createdAt,
      failures: rawFailures.map((f) => JSON.parse(f) as BatchFailure),
      duplicates,
      origin: meta.origin,
      ...(meta.finishedAt ? { finishedAt: meta.finishedAt } : {}),
    };
  }

  /**
   * One page of the tenant's batches, newest first: by the index's score (creation time in ms),
   * ties by id, so a position stays put while batches are added. Expired batches are skipped.
   */
  async page(tenantId: string, after: BatchPosition | undefined, limit: number): Promise<Page<BatchMeta, BatchPosition>> {
    const key = this.tenantIndex(tenantId);
    return fillPage({
      limit,
      after,
      positions: async (from, count) => {
        // Batches of the same millisecond as the last one, after it in (score, id) descending order.
        const tied = from
          ? (await this.redis.zrangebyscore(key, from.at, from.at))
              .filter((id) => id < from.id)
              .reverse()
              .slice(0, count)
          : [];
        const positions = tied.map((id) => ({ at: from!.at, id }));
        if (positions.length === count) return positions;
        const older = await this.redis.zrevrangebyscore(
          key,
          from ? `(${from.at}` : '+inf',
          '-inf',
          'WITHSCORES',
          'LIMIT',
          0,
          count - positions.length,
        );
        for (let i = 0; i < older.length; i += 2) positions.push({ id: older[i]!, at: Number(older[i + 1]) });
        return positions;
      },
      load: (positions) => Promise.all(positions.map((p) => this.meta(p.id))),
    });
  }
}

/** Where a walk through a tenant's batches stands: the last batch's index score (creation ms) and id. */
export interface BatchPosition {
  at: number;
  id: string;
}

/** An item's record, its state and its result, as `item` and `itemAndMeta` return them. */
export interface StoredItemState {
  item: StoredItem;
  state: ItemState | undefined;
  result: ItemResult;
}

function toBatchMeta(m: Record<string, string>): BatchMeta | undefined {
  if (!m.id) return undefined;
  return {
    id: m.id,
    tenantId: m.tenantId!,
    createdAt: m.createdAt!,
    origin: m.origin ?? 'api',
    state: m.state as BatchMeta['state'],
    lines: Number(m.lines ?? 0),
    ...(m.startedAt ? { startedAt: m.startedAt } : {}),
    ...(m.finishedAt ? { finishedAt: m.finishedAt } : {}),
  };
}

type ItemReplies = [item: string | null, state: string | null, result: string | null];

function toItemState(...[item, state, result]: ItemReplies): StoredItemState {
  return {
    item: item ? (JSON.parse(item) as StoredItem) : {},
    state: (state ?? undefined) as ItemState | undefined,
    result: result ? (JSON.parse(result) as ItemResult) : {},
  };
}
