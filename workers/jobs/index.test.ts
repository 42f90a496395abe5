import { describe, expect, it } from 'vitest';
import { PROTOTYPE_NAMES } from '../../lib/own-keys.js';
import { builtinTemplates } from '../../templates/builtin.js';
import { QUEUE_KINDS } from '../config.js';
import { assertHandlers, jobForStep, STEP_NAMES, jobNamed, JOBS, jobsOnQueue, runQueuedJob, type QueuedJob } from './index.js';
import { createLogger } from '../../lib/logger.js';

const at = { tenantId: 't', assetId: 'a', runId: 'run_1', stepIndex: 0, source: { key: 'k', sha256: 'a'.repeat(64) } };
const generateOptions = (backdrop?: Record<string, unknown>) => {
  const { template } = [...builtinTemplates().values()].find((t) => t.template.backdrop.type !== 'generator')!;
  return {
    templateId: 'x',
    templateVersion: 'b'.repeat(64),
    template: { ...template, ...(backdrop ? { backdrop } : {}) },
    channels: ['marketplace'],
  };
};

describe('the job table', () => {
  it('declares every job once, with a handler, on a known queue, and every recipe step is carried out by a job', () => {
    for (const [name, job] of Object.entries(JOBS)) {
      expect(job.name).toBe(name);
      expect(typeof job.handler).toBe('function');
      expect(QUEUE_KINDS).toContain(job.queue);
    }
    for (const step of STEP_NAMES.filter((s) => s !== 'generate'))
      expect(jobForStep({ name: step, options: {} }, at, { renderWidths: [320] }).job.step.name).toBe(step);
  });

  it("fills the render step's defaults in one place", () => {
    expect(jobForStep({ name: 'render', options: {} }, at, { renderWidths: [320, 640] }).data.options).toEqual({
      widths: [320, 640],
      formats: ['avif', 'webp', 'jpeg'],
    });
    expect(jobForStep({ name: 'render', options: { widths: [100], formats: ['png'] } }, at, { renderWidths: [320] }).data.options).toEqual({
      widths: [100],
      formats: ['png'],
    });
  });

  it('sends a generate step to the inference queue only when its template needs the ONNX generator', () => {
    const scene = jobForStep({ name: 'generate', options: generateOptions() }, at, { renderWidths: [] }).job;
    const onnx = jobForStep({ name: 'generate', options: generateOptions({ type: 'generator' }) }, at, { renderWidths: [] }).job;
    expect([scene.name, scene.queue]).toEqual(['generate', 'render']);
    expect([onnx.name, onnx.queue]).toEqual(['generate-onnx', 'inference']);
  });

  it('answers only its own names (a name from Redis may be anything)', async () => {
    for (const name of PROTOTYPE_NAMES) expect(jobNamed(name)).toBeUndefined();
    const job: QueuedJob = {
      name: 'constructor',
      data: {},
      attemptsMade: 0,
      opts: {},
      getChildrenValues: async () => ({}),
      updateProgress: async () => undefined,
    };
    await expect(runQueuedJob(job, {}, createLogger('silent'))).rejects.toThrow(/no processor for job "constructor"/);
  });

  it('refuses to start a queue whose jobs need what the process lacks', () => {
    expect(jobsOnQueue('publish').sort()).toEqual(['delete-tenant', 'deliver-webhook', 'publish', 'purge', 'rebuild-asset-index']);
    expect(() => assertHandlers(['publish'], {})).toThrow(/publish queue: the job "publish" needs publish/);
    expect(() => assertHandlers([], {})).not.toThrow();
  });
});
