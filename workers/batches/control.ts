import { AppError } from '../../lib/errors.js';
import { emitSafely, type BatchEventSink } from './events.js';
import { batchItemJobId, batchItemJobOptions, type BatchLane } from './submit.js';
import type { BatchMeta, BatchStatus } from './store.js';

/** Queued items are taken out of (or put back into) the queue this many at a time. */
const CHUNK = 500;

/**
 * Pause: no queued item of the batch starts. Its waiting jobs are taken out of the queue and the
 * lines parked, so a paused catalog costs the workers nothing; an item already running finishes.
 * A job a worker picked up in between sees the state and parks itself (workers/batches/item.ts).
 */
export async function pauseBatch(lane: BatchLane, events: BatchEventSink, meta: BatchMeta): Promise<BatchStatus> {
  const status = await lane.store.status(meta);
  if (status.state !== 'running') throw conflict(status, 'pause');
  await lane.store.setState(meta.id, 'paused');
  await forEachWaitingJob(lane, meta.id, async (line, removed) => {
    if (removed) await lane.store.redis.sadd(lane.store.key(meta.id, 'parked'), String(line));
  });
  return announce(lane, events, meta.id);
}

/** Resume: parked lines go back into the queue, in bulk. */
export async function resumeBatch(lane: BatchLane, events: BatchEventSink, meta: BatchMeta): Promise<BatchStatus> {
  const status = await lane.store.status(meta);
  if (status.state !== 'paused') throw conflict(status, 'resume');
  await lane.store.setState(meta.id, 'running');
  const parkedKey = lane.store.key(meta.id, 'parked');
  for (;;) {
    const lines = (await lane.store.redis.spop(parkedKey, CHUNK)).map(Number);
    if (!lines.length) break;
    await lane.queue.addBulk(
      lines.map((line) => ({
        name: 'batch-item',
        data: { batchId: meta.id, tenantId: meta.tenantId, line },
        opts: batchItemJobOptions(lane, meta.id, line),
      })),
    );
  }
  return announce(lane, events, meta.id);
}

/**
 * Cancel: every item not started yet is taken out of the queue and counted cancelled; items
 * running finish. Cancelled work is not "done": submitting it again runs it.
 */
export async function cancelBatch(lane: BatchLane, events: BatchEventSink, meta: BatchMeta): Promise<BatchStatus> {
  const status = await lane.store.status(meta);
  if (status.state === 'cancelled' || status.state === 'completed') throw conflict(status, 'cancel');
  await lane.store.setState(meta.id, 'cancelled');
  await forEachWaitingJob(lane, meta.id, async (line, removed, parked) => {
    if (removed || parked) await lane.store.transition(meta.id, line, ['waiting'], 'cancelled');
  });
  await lane.store.redis.unlink(lane.store.key(meta.id, 'parked'));
  const after = await lane.store.counts(meta.id);
  if (after.active === 0 && (await lane.store.markFinished(meta.id))) {
    const { duplicates: _d, ...counts } = after;
    emitSafely(
      () => events.batchCompleted({ batchId: meta.id, tenantId: meta.tenantId, state: 'cancelled', counts, at: new Date().toISOString() }),
      (err) => lane.logger.warn({ err, batchId: meta.id }, 'batch event sink failed'),
    );
  }
  return lane.store.status((await lane.store.meta(meta.id))!);
}

/**
 * Visit every waiting line, trying to take its job out of the queue: `removed` when it was still
 * queued, `parked` when it was already out (paused). A job that is running is locked and stays.
 */
async function forEachWaitingJob(
  lane: BatchLane,
  batchId: string,
  visit: (line: number, removed: boolean, parked: boolean) => Promise<void>,
) {
  const { store } = lane;
  let cursor = '0';
  do {
    const [next, lines] = await store.redis.sscan(store.key(batchId, 'waiting'), cursor, 'COUNT', CHUNK);
    cursor = next;
    await Promise.all(
      lines.map(async (l) => {
        const line = Number(l);
        const removed = (await lane.queue.remove(batchItemJobId(batchId, line))) === 1;
        const parked = !removed && (await store.redis.sismember(store.key(batchId, 'parked'), l)) === 1;
        await visit(line, removed, parked);
      }),
    );
  } while (cursor !== '0');
}

async function announce(lane: BatchLane, events: BatchEventSink, batchId: string): Promise<BatchStatus> {
  const status = await lane.store.status((await lane.store.meta(batchId))!);
  const meta = (await lane.store.meta(batchId))!;
  if (status.state === 'running' || status.state === 'paused') {
    emitSafely(
      () =>
        events.batchProgress({
          batchId,
          tenantId: meta.tenantId,
          state: status.state as 'running' | 'paused',
          counts: status.counts,
          at: new Date().toISOString(),
        }),
      (err) => lane.logger.warn({ err, batchId }, 'batch event sink failed'),
    );
  }
  return status;
}

const conflict = (status: BatchStatus, action: string) =>
  new AppError('BATCH_STATE_CONFLICT', `Cannot ${action} a batch that is ${status.state}.`, { state: status.state });
