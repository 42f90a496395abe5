import type { SandboxedJob } from 'bullmq';
import { restrictImageLoaders } from '../../lib/image-policy.js';
import { childStepDeps } from '../jobs/deps.js';
import { runQueuedJob } from '../jobs/index.js';
import { toJobError } from '../job-errors.js';
import { jobLogger } from '../job-log.js';
import { warmModels } from '../warm-models.js';
import { exitWithParent } from './exit-with-parent.js';

/**
 * The body of a sandboxed child (a BullMQ sandboxed processor): the same loader policy as its
 * parent, its steps' dependencies built once, and each job run from the one job table.
 */
export async function sandboxProcessor(processName: string, options: { warm: boolean }): Promise<(job: SandboxedJob) => Promise<unknown>> {
  // A child process decodes untrusted uploads too: the same loader policy as its parent.
  restrictImageLoaders();
  exitWithParent();
  const { steps, models, logger } = childStepDeps(process.env, processName);
  // BullMQ counts the child started once its module has loaded, and the inference worker forks its
  // children before taking jobs (startInferenceChildren), so the first job finds its session open.
  // A failure is logged; a job then opens the session itself.
  if (options.warm) await warmModels(models, logger).catch((err: unknown) => logger.error({ err }, 'model warm-up failed'));
  return async (job) => {
    // Every line about this job (model sessions opened for it included) names its run and step.
    const log = jobLogger(logger, job);
    log.debug('step running in sandboxed child');
    try {
      return await runQueuedJob(job, { steps }, logger);
    } catch (err) {
      const jobError = toJobError(err);
      log.warn({ err }, 'step threw in sandboxed child');
      throw jobError;
    }
  };
}
