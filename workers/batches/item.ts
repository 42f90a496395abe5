import { createHash } from 'node:crypto';
import { AppError, isPermanent } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { describeJobFailure, toJobError } from '../job-errors.js';
import { processPublish, type PublishDeps } from '../processors/publish.js';
import type { SourceImage } from '../queues.js';
import type { Recipe, ValidRecipe } from '../recipe.js';
import type { RunStore } from '../run-store.js';
import type { BatchItemJobData, RenderResult } from '../catalogue.js';
import type { BatchConfig } from './config.js';
import { emitSafely, type BatchEventSink } from './events.js';
import type { BatchSource } from './items.js';
import type { StepPool } from './step-pool.js';
import type { BatchStore, RenderedRendition } from './store.js';
import { timedStorage } from './timed-storage.js';
import { OrderedWrites, retryWrite } from '../ordered-writes.js';

/** An item's source as an asset of the tenant (fetched and stored first when it is a URL or inbox key). */
export type ResolveBatchSource = (
  tenantId: string,
  sku: string,
  source: BatchSource,
  signal?: AbortSignal,
) => Promise<{ assetId: string; source: SourceImage }>;

export interface BatchItemDeps {
  store: BatchStore;
  config: BatchConfig;
  events: BatchEventSink;
  resolveSource: ResolveBatchSource;
  /**
   * Admit a recipe for a source of this size exactly as the API does (its `prepareRun`): each step
   * checked, the output size, the `generate` step resolved for the tenant.
   */
  admitRecipe: (tenantId: string, recipe: Recipe, source: { width: number; height: number }) => Promise<ValidRecipe>;
  runs: RunStore;
  steps: StepPool;
  publish: PublishDeps;
  defaultWidths: number[];
  logger: Logger;
}

export type BatchItemOutcome = 'completed' | 'failed' | 'parked' | 'cancelled' | 'skipped';

/** A batch item's run id: the same on every attempt, so a retry continues the same run record. */
const runIdFor = (batchId: string, line: number) => `run_${createHash('sha256').update(`${batchId}/${line}`).digest('hex').slice(0, 32)}`;

/**
 * Process one catalog item: park it if its batch is paused, drop it if cancelled; else resolve its
 * source, run its steps in a low-priority child, publish, and record the outcome in the batch.
 * Bad input fails the item at once; other faults retry, and fail the item on the last attempt.
 */
export async function processBatchItem(
  data: BatchItemJobData,
  attempt: { number: number; last: boolean },
  deps: BatchItemDeps,
  signal?: AbortSignal,
): Promise<BatchItemOutcome> {
  const { store } = deps;
  const begun = performance.now();
  const stepTimings: Record<string, number> = {};
  const { meta, item, state, result } = await store.itemAndMeta(data.batchId, data.line);
  if (!meta || meta.tenantId !== data.tenantId) return 'skipped';
  if (state !== 'waiting' && state !== 'active') return 'skipped';
  if (meta.state === 'cancelled') {
    await finish(deps, data, await store.transition(data.batchId, data.line, ['waiting'], 'cancelled'));
    return 'cancelled';
  }
  if (meta.state === 'paused' && state === 'waiting') {
    await store.redis.sadd(store.key(data.batchId, 'parked'), String(data.line));
    // A resume between our read and the park would never see this line: take it back and run it.
    const now = await store.meta(data.batchId);
    if (now?.state !== 'running' || (await store.redis.srem(store.key(data.batchId, 'parked'), String(data.line))) === 0) return 'parked';
  }
  if (state === 'waiting') {
    const moved = await store.transition(data.batchId, data.line, ['waiting'], 'active');
    if (!moved.moved) return 'skipped';
    progress(deps, data.batchId, data.tenantId);
  }

  const runId = result.runId ?? runIdFor(data.batchId, data.line);
  const clock = itemClock(begun);
  try {
    if (!item.source || !item.recipe || !item.sku) throw new AppError('INVALID_BATCH_ITEM', 'The item record is incomplete.');
    // While interactive work runs, the item's own work in this process waits too (not only its child's).
    await deps.steps.thawed();
    clock.lap('yieldMs');
    const resolved = await deps.resolveSource(data.tenantId, item.sku, item.source, signal);
    const valid = await deps.admitRecipe(data.tenantId, item.recipe, resolved.source);
    await store.setResult(data.batchId, data.line, { runId, assetId: resolved.assetId });
    const stepNames = [...valid.steps.map((s) => s.name), 'publish'];
    // The run id reaches the item's result before its run record is created, so without one in
    // the result no earlier attempt created the record: nothing to look up.
    if (!result.runId || !(await deps.runs.get(data.tenantId, runId))) {
      await deps.runs.create({
        id: runId,
        tenantId: data.tenantId,
        assetId: resolved.assetId,
        recipe: item.recipe,
        stepNames,
        createdAt: new Date().toISOString(),
      });
    }
    clock.lap('prepareMs');
    // Step records are written while the steps go on, in order per step and retried through a
    // Redis outage; the item waits for them before it publishes, so it never completes with its
    // run left `running` (a write still failing after its retries fails this attempt instead).
    const stepWrites = new OrderedWrites();
    const written: Array<Promise<void>> = [];
    const ran = await deps.steps.run(
      {
        tenantId: data.tenantId,
        assetId: resolved.assetId,
        runId,
        source: { key: resolved.source.key, sha256: resolved.source.sha256 },
        steps: valid.steps,
        defaultWidths: deps.defaultWidths,
      },
      (e) => {
        if (e.state === 'completed' && e.timings) Object.assign(stepTimings, e.timings);
        const write = stepWrites.push(String(e.index), () =>
          deps.runs.updateStep(
            runId,
            e.index,
            e.state === 'active'
              ? { state: 'active', attempts: attempt.number, startedAt: new Date().toISOString() }
              : {
                  state: 'completed',
                  progress: 100,
                  finishedAt: new Date().toISOString(),
                  ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}),
                  ...(e.timings ? { timings: e.timings } : {}),
                  ...(e.model ? { model: e.model } : {}),
                },
          ),
        );
        write.catch(() => undefined); // handled: awaited below, unless the steps fail first
        written.push(write);
      },
    );
    await Promise.all(written);
    clock.lap('stepsMs');
    await deps.steps.thawed();
    clock.lap('yieldMs');
    const publishIndex = stepNames.length - 1;
    if (item.publish === false) {
      // Rendered for an experiment: the renditions are stored and immutable; the asset's manifest
      // and stable URLs must not change, so the publish step is not run (and its record says so).
      await retryWrite(() =>
        deps.runs.updateStep(runId, publishIndex, { state: 'completed', progress: 100, finishedAt: new Date().toISOString() }),
      );
      const moved = await store.transition(data.batchId, data.line, ['active'], 'completed', {
        result: { runId, assetId: resolved.assetId, urls: [], renditions: renderedRenditions(ran.result) },
      });
      await finish(deps, data, moved);
      return 'completed';
    }
    const started = Date.now();
    await retryWrite(() =>
      deps.runs.updateStep(runId, publishIndex, { state: 'active', attempts: attempt.number, startedAt: new Date().toISOString() }),
    );
    const publishStorage = timedStorage(deps.publish.storage);
    const published = await processPublish(
      { getChildrenValues: async <T>() => ({ render: ran.result }) as unknown as Record<string, T> },
      { tenantId: data.tenantId, assetId: resolved.assetId, runId, stepIndex: publishIndex, source: resolved.source, sku: item.sku },
      { ...deps.publish, storage: publishStorage.storage },
    );
    const publishStorageMs = publishStorage.timings();
    await retryWrite(() =>
      deps.runs.updateStep(runId, publishIndex, {
        state: 'completed',
        progress: 100,
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - started,
        timings: {
          storageReadMs: publishStorageMs.readMs,
          storageWriteMs: publishStorageMs.writeMs,
          storageListMs: publishStorageMs.listMs,
        },
      }),
    );
    clock.lap('publishMs');
    const moved = await store.transition(data.batchId, data.line, ['active'], 'completed', {
      result: { runId, assetId: resolved.assetId, manifestUrl: deps.publish.urlFor(published.manifestKey), urls: published.stableUrls },
    });
    await finish(deps, data, moved);
    clock.lap('finishMs');
    deps.logger.info(
      {
        batchId: data.batchId,
        line: data.line,
        runId,
        attempt: attempt.number,
        timings: {
          ...clock.laps,
          childWaitMs: ran.childWaitMs,
          childStartMs: ran.childStartMs,
          ...stepTimings,
          ...prefixed('publish', publishStorageMs),
        },
        durationMs: clock.total(),
      },
      'catalog item completed',
    );
    return 'completed';
  } catch (err) {
    if (!isPermanent(err) && !attempt.last) throw toJobError(err);
    const error = err instanceof AppError ? { code: err.code, message: err.message } : describeJobFailure(toJobError(err).message);
    deps.logger.warn({ batchId: data.batchId, line: data.line, err }, 'catalog item failed');
    await deps.runs.fail(runId, error).catch(() => undefined);
    const moved = await store.transition(data.batchId, data.line, ['active'], 'failed', {
      result: { runId, error },
      failure: { line: data.line, sku: item.sku ?? '', ...error },
    });
    await finish(deps, data, moved);
    return 'failed';
  }
}

/** Every rendition of an unpublished item's result, each channel layout's tagged with its channel. */
function renderedRenditions(result: RenderResult): RenderedRendition[] {
  const pick = (r: RenderResult['renditions'][number], channel?: string): RenderedRendition => ({
    ...(channel ? { channel } : {}),
    width: r.width,
    height: r.height,
    format: r.format,
    key: r.key,
  });
  return [...result.renditions.map((r) => pick(r)), ...(result.channels ?? []).flatMap((c) => c.renditions.map((r) => pick(r, c.channel)))];
}

/**
 * Where an item's time went, lap by lap (`recordsMs` from the start to the first lap: the batch
 * records read and the item marked active), for the 'catalog item completed' log line.
 */
function itemClock(begun: number) {
  let last = begun;
  const laps: Record<string, number> = { recordsMs: Math.round(performance.now() - begun) };
  last = performance.now();
  return {
    laps,
    lap(name: string) {
      const now = performance.now();
      laps[name] = (laps[name] ?? 0) + Math.round(now - last);
      last = now;
    },
    total: () => Math.round(performance.now() - begun),
  };
}

const prefixed = (prefix: string, timings: object): Record<string, number> =>
  Object.fromEntries(Object.entries(timings).map(([k, v]) => [`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`, v as number]));

/** After an item ends: the batch's completion exactly once, or a (throttled) progress event. */
async function finish(deps: BatchItemDeps, data: BatchItemJobData, moved: { moved: boolean; waiting: number; active: number }) {
  if (!moved.moved) return;
  if (moved.waiting === 0 && moved.active === 0 && (await deps.store.markFinished(data.batchId))) {
    const meta = await deps.store.meta(data.batchId);
    const { duplicates: _d, ...counts } = await deps.store.counts(data.batchId);
    emitSafely(
      () =>
        deps.events.batchCompleted({
          batchId: data.batchId,
          tenantId: data.tenantId,
          state: meta?.state === 'cancelled' ? 'cancelled' : 'completed',
          counts,
          at: new Date().toISOString(),
        }),
      (err) => deps.logger.warn({ err, batchId: data.batchId }, 'batch event sink failed'),
    );
    return;
  }
  progress(deps, data.batchId, data.tenantId);
}

const lastProgress = new Map<string, number>();

/** At most one progress event per batch per interval from this process. */
function progress(deps: BatchItemDeps, batchId: string, tenantId: string): void {
  const now = Date.now();
  if (now - (lastProgress.get(batchId) ?? 0) < deps.config.progressIntervalMs) return;
  lastProgress.set(batchId, now);
  if (lastProgress.size > 1000) lastProgress.clear();
  void Promise.all([deps.store.meta(batchId), deps.store.counts(batchId)])
    .then(([meta, { duplicates: _d, ...counts }]) => {
      if (!meta || meta.state === 'cancelled') return;
      emitSafely(
        () =>
          deps.events.batchProgress({ batchId, tenantId, state: meta.state as 'running' | 'paused', counts, at: new Date().toISOString() }),
        (err) => deps.logger.warn({ err, batchId }, 'batch event sink failed'),
      );
    })
    .catch((err: unknown) => deps.logger.warn({ err, batchId }, 'could not read batch progress'));
}
