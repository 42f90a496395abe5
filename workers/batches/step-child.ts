/**
 * A catalog item's CPU work (AI steps and encoding) in a child process at a low CPU priority: the kernel gives interactive work the cores first and catalog work only what is spare.
 * Talks to its parent (workers/batches/step-pool.ts) over the IPC channel.
 */
import { setPriority } from 'node:os';
import { AppError } from '../../lib/errors.js';
import { restrictImageLoaders } from '../../lib/image-policy.js';
import { loadBatchConfig } from './config.js';
import { runStepsInline, type InlineStepsTask } from '../inline-steps.js';
import { childStepDeps } from '../jobs/deps.js';
import type { StepChildReply, StepChildRequest } from './step-pool.js';
import { timedStorage } from './timed-storage.js';

// A process may lower its own priority without privileges (BATCH_CPU_NICE, 19 by default).
try {
  setPriority(loadBatchConfig(process.env).cpuNice);
} catch {
  // Some sandboxes refuse even this; the work still runs, only without the kernel's help.
}
restrictImageLoaders();

const { steps: deps } = childStepDeps(process.env, 'batch-child');

const send = (reply: StepChildReply) => process.send?.(reply);

process.on('message', (message: StepChildRequest) => {
  const { id, task } = message;
  // Render's storage calls are timed (the item's breakdown).
  const timed = timedStorage(deps.render.storage);
  const taskDeps = { ...deps, render: { ...deps.render, storage: timed.storage } };
  runStepsInline(task as InlineStepsTask, taskDeps, (event) => {
    if (event.state === 'completed' && event.name === 'render') {
      const { readMs, writeMs } = timed.timings();
      event = { ...event, timings: { ...event.timings, storageReadMs: readMs, storageWriteMs: writeMs } };
    }
    send({ id, event });
  })
    .then((result) => send({ id, result }))
    .catch((err: unknown) => {
      const error =
        err instanceof AppError
          ? { status: err.status, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
          : { message: err instanceof Error ? err.message : String(err) };
      send({ id, error });
    });
});
// Without a parent there is nothing to do: exit with it.
process.on('disconnect', () => process.exit(0));
