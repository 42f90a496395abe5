/**
 * Entry of the render processor in its own child process (a BullMQ sandboxed processor), so that
 * encoding never delays the worker's lock renewal and a crash in a native decoder kills only this
 * child. The child builds its dependencies once from the environment its parent handed it.
 */
import type { SandboxedJob } from 'bullmq';
import { restrictImageLoaders } from '../../lib/image-policy.js';
import { exitWithParent } from './exit-with-parent.js';
import { loadCdnConfig } from '../../cdn/config.js';
import { createStorage } from '../../cdn/create-storage.js';
import { createLogger, type Logger } from '../../lib/logger.js';
import { generateJobSchema, renderJobSchema } from '../catalogue.js';
import { loadWorkersConfig } from '../config.js';
import { toJobError } from '../job-errors.js';
import { jobLogger } from '../job-log.js';
import { resolveStepInput } from '../step-input.js';
import { processGenerate } from '../processors/generate.js';
import { processRender, renderDeps, type RenderDeps } from '../processors/render.js';

// A child process decodes untrusted uploads too: the same loader policy as its parent.
restrictImageLoaders();
exitWithParent();

let deps: RenderDeps | undefined;
// The child's stdout is piped into its parent's, so these JSON lines join the worker's own log.
let logger: Logger | undefined;

export default async function renderSandboxed(job: SandboxedJob) {
  if (!deps) {
    const cdn = loadCdnConfig(process.env);
    deps = renderDeps(createStorage(cdn), cdn, loadWorkersConfig(process.env).decodeLimits);
  }
  logger ??= createLogger(process.env.LOG_LEVEL ?? 'info', { process: 'render-child' });
  const log = jobLogger(logger, job);
  log.debug('step running in sandboxed child');
  try {
    if (job.name === 'generate') {
      const data = generateJobSchema.parse(job.data);
      const input = resolveStepInput(data.source, await job.getChildrenValues());
      return await processGenerate(data, input, deps, (p) => job.updateProgress(p));
    }
    const data = renderJobSchema.parse(job.data);
    const input = resolveStepInput(data.source, await job.getChildrenValues());
    return await processRender(data, input, deps, (p) => job.updateProgress(p));
  } catch (err) {
    const jobError = toJobError(err);
    log.warn({ err }, 'step threw in sandboxed child');
    throw jobError;
  }
}
