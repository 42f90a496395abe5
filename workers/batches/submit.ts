import { randomUUID } from 'node:crypto';
import type { JobsOptions, Queue } from 'bullmq';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { execReplies } from '../../lib/redis.js';
import type { BatchItemJobData } from '../catalogue.js';
import type { CatalogLine } from './catalog-lines.js';
import { emitSafely, type BatchEventSink } from './events.js';
import type { BatchConfig } from './config.js';
import { checkItem, itemKey, type BatchItemInput } from './items.js';
import { BATCH_TTL_SECONDS, type BatchStatus, type BatchStore, type ItemState, type StoredItem } from './store.js';

/** What submitting needs: the records, the batch lane's queue and the limits. */
export interface BatchLane {
  store: BatchStore;
  queue: Queue;
  config: BatchConfig;
  /** Tries per item for faults that may pass (bad input never retries). */
  attempts: number;
  logger: Logger;
  /** Where batch events go; a batch with nothing to run completes at submission. */
  events: BatchEventSink;
}

/** Lines are written and enqueued this many at a time (one Redis round trip and one `addBulk` each). */
const CHUNK = 500;

export interface BatchSubmission {
  batch: BatchStatus;
  /** Items enqueued by this batch. */
  accepted: number;
  /** Items whose work an earlier batch (or an earlier line) already did or is doing. */
  duplicates: { completed: number; inProgress: number };
  /** Lines refused by validation (listed in `batch.failures`). */
  rejected: number;
}

export const batchItemJobId = (batchId: string, line: number) => `${batchId}-${line}`;

export function batchItemJobOptions(lane: BatchLane, batchId: string, line: number): JobsOptions {
  return {
    jobId: batchItemJobId(batchId, line),
    attempts: lane.attempts,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    // Gone once done, so that a resumed item can be queued again under the same id.
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * Submit items from another module (a template change re-rendering a catalog): `{ sku, assetId,
 * recipe }` or `{ sku, source, template }`, numbered from line 1 in the order given.
 */
export async function submitBatchItems(
  lane: BatchLane,
  tenantId: string,
  items: Iterable<BatchItemInput> | AsyncIterable<BatchItemInput>,
  origin: string,
): Promise<BatchSubmission> {
  async function* numbered(): AsyncIterable<CatalogLine> {
    let line = 0;
    for await (const fields of items) yield { line: ++line, fields: fields as unknown as Record<string, unknown> };
  }
  return submitCatalogLines(lane, tenantId, numbered(), origin);
}

/**
 * Submit a catalog read line by line. First every line is checked and written to Redis (so a
 * catalog over `MAX_BATCH_ITEMS` is refused whole, before anything runs); then the lines are
 * claimed and enqueued in chunks. Nothing is held in memory but one chunk.
 */
export async function submitCatalogLines(
  lane: BatchLane,
  tenantId: string,
  lines: AsyncIterable<CatalogLine>,
  origin: string,
): Promise<BatchSubmission> {
  const { store } = lane;
  const meta = {
    id: `bat_${randomUUID().replaceAll('-', '')}`,
    tenantId,
    createdAt: new Date().toISOString(),
    origin,
    state: 'running' as const,
  };
  await store.create(meta);
  let lastLine = 0;
  let items = 0;
  let rejected = 0;
  try {
    let chunk: Array<{ line: number; item: StoredItem; error?: { code: string; message: string } }> = [];
    const flush = async () => {
      if (!chunk.length) return;
      const multi = store.redis.multi();
      for (const c of chunk) {
        multi.hset(store.key(meta.id, 'items'), String(c.line), JSON.stringify(c.item));
        if (c.error) {
          multi.hset(store.key(meta.id, 'state'), String(c.line), 'failed');
          multi.rpush(store.key(meta.id, 'failures'), JSON.stringify({ line: c.line, sku: c.item.sku ?? '', ...c.error }));
        }
      }
      const bad = chunk.filter((c) => c.error).length;
      if (bad) multi.hincrby(store.key(meta.id, 'n'), 'failed', bad).hincrby(store.key(meta.id, 'n'), 'total', bad);
      await multi.exec();
      chunk = [];
    };
    for await (const entry of lines) {
      items += 1;
      if (items > lane.config.maxItems) {
        throw new AppError('BATCH_TOO_LARGE', `A batch holds at most ${lane.config.maxItems} items (MAX_BATCH_ITEMS); split the catalog.`, {
          maxItems: lane.config.maxItems,
        });
      }
      lastLine = Math.max(lastLine, entry.line);
      if ('error' in entry) {
        chunk.push({ line: entry.line, item: {}, error: { code: 'INVALID_BATCH_ITEM', message: entry.error } });
        rejected += 1;
      } else {
        const sku = typeof entry.fields.sku === 'string' ? entry.fields.sku.slice(0, 64) : '';
        try {
          const item = checkItem(entry.fields as unknown as BatchItemInput);
          chunk.push({ line: entry.line, item: { ...item, key: itemKey(tenantId, item) } });
        } catch (err) {
          if (!(err instanceof AppError) || err.status >= 500) throw err;
          chunk.push({ line: entry.line, item: { sku }, error: { code: err.code, message: err.message } });
          rejected += 1;
        }
      }
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
    if (items === 0) throw new AppError('INVALID_BATCH_ITEM', 'The catalog has no item lines.');
  } catch (err) {
    // Refused whole: leave nothing behind.
    await store.redis.unlink(...store.allKeys(meta.id));
    throw err;
  }

  const duplicates = { completed: 0, inProgress: 0 };
  let accepted = 0;
  for (let from = 1; from <= lastLine; from += CHUNK) {
    const result = await enqueueChunk(lane, meta.id, tenantId, from, Math.min(lastLine, from + CHUNK - 1));
    accepted += result.accepted;
    duplicates.completed += result.duplicates.completed;
    duplicates.inProgress += result.duplicates.inProgress;
  }
  await store.publish(meta, lastLine);
  lane.logger.info({ batchId: meta.id, tenantId, accepted, rejected, duplicates, origin }, 'batch submitted');
  if (accepted === 0 && (await store.markFinished(meta.id))) {
    const { duplicates: _d, ...counts } = await store.counts(meta.id);
    emitSafely(
      () => lane.events.batchCompleted({ batchId: meta.id, tenantId, state: 'completed', counts, at: new Date().toISOString() }),
      (err) => lane.logger.warn({ err, batchId: meta.id }, 'batch event sink failed'),
    );
  }
  const batch = await store.status((await store.meta(meta.id))!);
  return { batch, accepted, duplicates, rejected };
}

/** States of an owning item that mean "this work is done or will be": anything else may be redone. */
const LIVE_STATES = new Set<ItemState>(['waiting', 'active', 'completed']);

/**
 * Claim each valid line of a range for this batch (unless another line already owns the same
 * work and it has not failed or been cancelled), then enqueue the claimed ones with one `addBulk`.
 */
async function enqueueChunk(lane: BatchLane, batchId: string, tenantId: string, from: number, to: number) {
  const { store } = lane;
  const lineNumbers = Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  const [rawItems, rawStates] = await Promise.all([
    store.redis.hmget(store.key(batchId, 'items'), ...lineNumbers),
    store.redis.hmget(store.key(batchId, 'state'), ...lineNumbers),
  ]);
  const lines = lineNumbers
    .map((l, i) => ({ line: Number(l), item: rawItems[i] ? (JSON.parse(rawItems[i]!) as StoredItem) : undefined, state: rawStates[i] }))
    .filter((l): l is { line: number; item: StoredItem & { key: string }; state: null } => !!l.item?.key && !l.state);
  const duplicates = { completed: 0, inProgress: 0 };
  if (!lines.length) return { accepted: 0, duplicates };

  const ownersKey = store.owners(tenantId);
  const owners = await store.redis.hmget(ownersKey, ...lines.map((l) => l.item.key));
  const ownerStates = await Promise.all(owners.map((o) => (o ? ownerState(store, o) : Promise.resolve(undefined))));

  const claim = store.redis.multi();
  lines.forEach((l, i) => {
    const mine = `${batchId}/${l.line}`;
    if (!owners[i]) claim.hsetnx(ownersKey, l.item.key, mine);
    else if (!LIVE_STATES.has(ownerStates[i] as ItemState))
      claim.hset(ownersKey, l.item.key, mine); // failed, cancelled or expired: redo
    else claim.hget(ownersKey, l.item.key); // keep the owner
  });
  const claimed = (await execReplies(claim)).map((value, i) => {
    const owner = owners[i];
    if (!owner) return value === 1;
    return !LIVE_STATES.has(ownerStates[i] as ItemState);
  });

  const record = store.redis.multi();
  const jobs: Array<{ name: 'batch-item'; data: BatchItemJobData; opts: JobsOptions }> = [];
  lines.forEach((l, i) => {
    if (claimed[i]) {
      record.hset(store.key(batchId, 'state'), String(l.line), 'waiting').sadd(store.key(batchId, 'waiting'), String(l.line));
      jobs.push({ name: 'batch-item', data: { batchId, tenantId, line: l.line }, opts: batchItemJobOptions(lane, batchId, l.line) });
    } else {
      record.hset(store.key(batchId, 'state'), String(l.line), 'duplicate');
      if (ownerStates[i] === 'completed') duplicates.completed += 1;
      else duplicates.inProgress += 1;
    }
  });
  const accepted = jobs.length;
  record
    .hincrby(store.key(batchId, 'n'), 'total', accepted)
    .hincrby(store.key(batchId, 'n'), 'waiting', accepted)
    .hincrby(store.key(batchId, 'n'), 'duplicates', lines.length - accepted)
    .expire(store.key(batchId, 'waiting'), BATCH_TTL_SECONDS)
    .expire(store.owners(tenantId), BATCH_TTL_SECONDS);
  await record.exec();
  if (jobs.length) await lane.queue.addBulk(jobs);
  return { accepted, duplicates };
}

/** The state of the line that owns a piece of work (`<batchId>/<line>`). */
async function ownerState(store: BatchStore, owner: string): Promise<string | undefined> {
  const [batchId, line] = owner.split('/');
  return (await store.redis.hget(store.key(batchId!, 'state'), line!)) ?? undefined;
}
