/**
 * Entry of the render processor in its own child process (a BullMQ sandboxed processor), so that
 * encoding never delays the worker's lock renewal and a crash in a native decoder kills only this
 * child. The child builds its dependencies once from the environment its parent handed it.
 */
import type { SandboxedJob } from 'bullmq';
import { restrictImageLoaders } from '../../lib/image-policy.js';
import { loadCdnConfig } from '../../cdn/config.js';
import { createStorage } from '../../cdn/create-storage.js';
import { generateJobSchema, renderJobSchema } from '../catalogue.js';
import { loadWorkersConfig } from '../config.js';
import { toJobError } from '../job-errors.js';
import { resolveStepInput } from '../step-input.js';
import { processGenerate } from '../processors/generate.js';
import { processRender, type RenderDeps } from '../processors/render.js';

// A child process decodes untrusted uploads too: the same loader policy as its parent.
restrictImageLoaders();

let deps: RenderDeps | undefined;

export default async function renderSandboxed(job: SandboxedJob) {
  deps ??= {
    storage: createStorage(loadCdnConfig(process.env)),
    decodeLimits: loadWorkersConfig(process.env).decodeLimits,
  };
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
    throw toJobError(err);
  }
}
