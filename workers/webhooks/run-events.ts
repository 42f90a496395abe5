import type { Job, Worker } from 'bullmq';
import type { Logger } from '../../lib/logger.js';
import { describeJobFailure } from '../job-errors.js';
import type { RunStore } from '../run-store.js';
import type { EventPublisher } from './publisher.js';

/** Jobs that belong to one run's chain carry these; purge, webhook and batch jobs do not. */
function runStep(job: Job): { tenantId: string; runId: string; assetId: string } | undefined {
  const data = job.data as { tenantId?: unknown; runId?: unknown; assetId?: unknown; stepIndex?: unknown };
  if (typeof data.runId !== 'string' || typeof data.tenantId !== 'string' || typeof data.assetId !== 'string') return undefined;
  if (typeof data.stepIndex !== 'number') return undefined;
  return { tenantId: data.tenantId, runId: data.runId, assetId: data.assetId };
}

/**
 * Emit `run.completed` when a run's publish step completes and `run.failed` when any of its steps
 * fails for good, from the worker that saw it happen. The event id derives from the run id, so a
 * repeated signal (a retried publish) delivers once.
 */
export function watchRunEvents(
  worker: Worker,
  deps: { publisher: EventPublisher; runs: RunStore; logger: Logger; track?: (p: Promise<unknown>) => void },
): void {
  const emit = (what: string, p: Promise<unknown>) => {
    const handled = p.catch((err: unknown) => deps.logger.error({ err, what }, 'could not publish a run event'));
    deps.track?.(handled);
  };

  worker.on('completed', (job) => {
    const run = job.name === 'publish' ? runStep(job) : undefined;
    if (!run) return;
    emit(
      'run.completed',
      (async () => {
        // processPublish has written the outputs before completing; the record gives the manifest URL.
        const record = await deps.runs.get(run.tenantId, run.runId);
        await deps.publisher.publish(
          run.tenantId,
          'run.completed',
          {
            runId: run.runId,
            assetId: run.assetId,
            state: 'completed',
            finishedAt: new Date(job.finishedOn ?? Date.now()).toISOString(),
            ...(record?.outputs ? { manifestUrl: record.outputs.manifestUrl } : {}),
          },
          run.runId,
        );
      })(),
    );
  });

  worker.on('failed', (job, err) => {
    const run = job ? runStep(job) : undefined;
    if (!job || !run) return;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    emit(
      'run.failed',
      deps.publisher.publish(
        run.tenantId,
        'run.failed',
        {
          runId: run.runId,
          assetId: run.assetId,
          state: 'failed',
          step: job.name,
          error: describeJobFailure(err.message),
          finishedAt: new Date().toISOString(),
        },
        run.runId,
      ),
    );
  });
}
