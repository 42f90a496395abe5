import { experimentPrefix, FORMAT_EXTENSIONS } from '../../cdn/keys.js';
import { surrogateKey } from '../../cdn/surrogate-keys.js';
import { cancelBatch } from '../../workers/batches/control.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { Experiment, ExperimentState, ExperimentStore, VariantRendition } from '../../records/experiment-store.js';
import { exportResults } from '../../workers/batches/results.js';
import type { ApiDeps } from '../deps.js';

/**
 * An experiment as it stands now. While rendering, its batch is looked at: once every line has
 * ended, the renditions are collected and the experiment goes live (or fails, naming the lines).
 */
export async function currentExperiment(deps: ApiDeps, store: ExperimentStore, tenantId: string, id: string): Promise<Experiment> {
  const experiment = await store.get(tenantId, id);
  if (!experiment) throw notFound('Experiment');
  if (experiment.state !== 'rendering') return experiment;
  const meta = await deps.batches.lane.store.metaOf(tenantId, experiment.batchId);
  if (!meta)
    return finish(deps, store, { ...experiment, state: 'failed', failures: [{ sku: '', variant: '', message: 'Its batch expired.' }] });
  const status = await deps.batches.lane.store.status(meta);
  if (status.state === 'running' || status.state === 'paused') return experiment;
  const renditions: NonNullable<Experiment['renditions']> = Object.fromEntries(experiment.variants.map((v) => [v.id, {}]));
  const failures: NonNullable<Experiment['failures']> = [];
  for await (const chunk of exportResults(deps.batches.lane.store, meta)) {
    for (const text of chunk.split('\n').filter(Boolean)) {
      const row = JSON.parse(text) as {
        line: number;
        sku: string;
        state: string;
        renditions?: VariantRendition[];
        error?: { message: string };
      };
      const variant = experiment.variants[Math.floor((row.line - 1) / experiment.skus.length)]!.id;
      // A line another experiment's batch renders (same work) may still be running: look again later.
      if (row.state === 'waiting' || row.state === 'active') return experiment;
      if (row.state === 'completed' && row.renditions?.length) renditions[variant]![row.sku] = row.renditions;
      else failures.push({ sku: row.sku, variant, message: row.error?.message ?? `The line ended ${row.state}.` });
    }
  }
  return finish(deps, store, failures.length ? { ...experiment, state: 'failed', failures } : { ...experiment, state: 'live', renditions });
}

/** Store a state change and purge the edge's routing answers, which depend on the state. */
async function finish(deps: ApiDeps, store: ExperimentStore, experiment: Experiment): Promise<Experiment> {
  await store.put(experiment);
  await purgeRouting(deps, experiment);
  return experiment;
}

/** The edge keeps each experiment URL's routing answer until this purge (by surrogate key). */
export async function purgeRouting(deps: ApiDeps, experiment: Experiment): Promise<void> {
  if (!deps.takedown.purging) return;
  // The outbox entry's asset field names what changed; here that is the experiment. URLs too,
  // for CDNs that purge by URL only.
  await deps.takedown.requestPurge({
    tenantId: experiment.tenantId,
    assetId: experiment.id,
    keys: [surrogateKey.experiment(experiment.tenantId, experiment.id)],
    urls: experimentUrls(experiment).map(deps.urlFor),
  });
}

/** The keys of every stable experiment URL (each SKU, channel, width and format the control was rendered in). */
function experimentUrls(experiment: Experiment): string[] {
  const control = experiment.variants.find((v) => v.control);
  const bySku = (control && experiment.renditions?.[control.id]) ?? {};
  return Object.entries(bySku).flatMap(([sku, renditions]) =>
    renditions.map(
      (r) =>
        `${experimentPrefix(experiment.tenantId, experiment.id, sku)}${r.channel ? `${r.channel}/` : ''}${r.width}.${FORMAT_EXTENSIONS[r.format]}`,
    ),
  );
}

/** Which states each action may start from, and where it leads. */
const TRANSITIONS: Record<'pause' | 'resume' | 'stop', { from: readonly ExperimentState[]; to: ExperimentState }> = {
  pause: { from: ['live'], to: 'paused' },
  resume: { from: ['paused'], to: 'live' },
  stop: { from: ['rendering', 'live', 'paused', 'failed'], to: 'stopped' },
};

/** Pause (everyone sees the control, nothing is counted), resume, or stop for good; each purges the routing answers. */
export async function transition(
  deps: ApiDeps,
  store: ExperimentStore,
  experiment: Experiment,
  action: keyof typeof TRANSITIONS,
): Promise<Experiment> {
  const { from, to } = TRANSITIONS[action];
  if (!from.includes(experiment.state)) {
    throw new AppError('EXPERIMENT_STATE_CONFLICT', `A ${experiment.state} experiment cannot ${action}.`, { state: experiment.state });
  }
  if (experiment.state === 'rendering') {
    // Stopped before it went live: its renders are of no use any more.
    const meta = await deps.batches.lane.store.metaOf(experiment.tenantId, experiment.batchId);
    if (meta) await cancelBatch(deps.batches.lane, deps.batches.events, meta).catch(() => undefined); // ended meanwhile: nothing to cancel
  }
  return finish(deps, store, { ...experiment, state: to, ...(to === 'stopped' ? { endedAt: new Date().toISOString() } : {}) });
}
