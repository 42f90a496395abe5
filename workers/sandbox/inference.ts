/**
 * Entry of the AI steps in their own child process (a BullMQ sandboxed processor): pre- and
 * post-processing loops over millions of pixels never delay the worker's lock renewal, and each
 * child keeps its own warm ONNX Runtime sessions across jobs.
 */
import type { SandboxedJob } from 'bullmq';
import { restrictImageLoaders } from '../../lib/image-policy.js';
import { exitWithParent } from './exit-with-parent.js';
import { loadCdnConfig } from '../../cdn/config.js';
import { createStorage } from '../../cdn/create-storage.js';
import { createLogger } from '../../lib/logger.js';
import { loadModelsConfig } from '../../models/config.js';
import { generateJobSchema, inferenceJobSchema } from '../catalogue.js';
import { loadWorkersConfig } from '../config.js';
import { inferenceSteps } from '../inference-steps.js';
import { toJobError } from '../job-errors.js';
import { jobLogger } from '../job-log.js';
import { processGenerate, type GenerateDeps } from '../processors/generate.js';
import { processInference, type InferenceDeps } from '../processors/inference.js';
import { generateDeps } from '../generate-deps.js';
import { resolveStepInput } from '../step-input.js';
import { warmModels } from '../warm-models.js';

function buildDeps(): InferenceDeps {
  const workers = loadWorkersConfig(process.env);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info', { process: 'inference-child' });
  const deps: InferenceDeps = {
    storage: createStorage(loadCdnConfig(process.env)),
    models: loadModelsConfig(process.env),
    logger,
    decodeLimits: workers.decodeLimits,
    steps: inferenceSteps({ maxOutputPixels: workers.maxOutputPixels }),
  };
  return deps;
}

// A child process decodes untrusted uploads too: the same loader policy as its parent.
restrictImageLoaders();
exitWithParent();

const deps = buildDeps();
// Load the warm models while the child starts: BullMQ counts the child started once this module
// has loaded, and the worker forks its children before taking jobs (startInferenceChildren), so
// the first job finds its session open. A failure is logged; a job then opens the session itself.
await warmModels(deps.models, deps.logger).catch((err: unknown) => deps.logger.error({ err }, 'model warm-up failed'));
let generate: GenerateDeps | undefined;

export default async function inferenceSandboxed(job: SandboxedJob) {
  // Every line about this job (model sessions opened for it included) names its run and step.
  const log = jobLogger(deps.logger, job);
  log.debug('step running in sandboxed child');
  try {
    if (job.name === 'generate-onnx') {
      generate ??= generateDeps(deps.storage, deps.decodeLimits, process.env, deps.logger);
      const data = generateJobSchema.parse(job.data);
      const input = resolveStepInput(data.source, await job.getChildrenValues());
      return await processGenerate(data, input, generate, (p) => job.updateProgress(p));
    }
    if (job.name !== 'remove-background' && job.name !== 'upscale') throw new Error(`no processor for job "${job.name}"`);
    const data = inferenceJobSchema.parse(job.data);
    const input = resolveStepInput(data.source, await job.getChildrenValues());
    return await processInference(job.name, data, input, { ...deps, logger: log }, (p) => job.updateProgress(p));
  } catch (err) {
    const jobError = toJobError(err);
    log.warn({ err }, 'step threw in sandboxed child');
    throw jobError;
  }
}
