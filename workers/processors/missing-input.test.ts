import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../../cdn/fs-storage.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { AppError } from '../../lib/errors.js';
import { builtinTemplates } from '../../templates/builtin.js';
import { CHANNEL_NAMES } from '../../templates/channels.js';
import { toJobError } from '../job-errors.js';
import { processGenerate } from './generate.js';
import { processInference, type InferenceDeps, type InferenceStep } from './inference.js';
import { processRender } from './render.js';

/**
 * A step whose input (the previous step's intermediate) is missing fails the same way in every
 * processor: STORAGE_ERROR, retried. It was NOT_FOUND (404, never retried) in generate, inference and
 * render but STORAGE_ERROR (503, retried) in publish: a lost object is the store's failure, not the
 * client's request, and a read that missed a fresh write may find it on the next attempt.
 */
describe('a missing step input', () => {
  let dir: string;
  let storage: ObjectStorage;
  const T = 'tn_missing';
  const sha = 'd'.repeat(64);
  const input = { key: `t/${T}/work/${sha}.png`, id: sha };
  const base = { tenantId: T, assetId: 'ast_m', runId: 'run_m', stepIndex: 0, source: { key: input.key, sha256: sha } };
  const noProgress = async () => undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'missing-input-'));
    storage = fsStorage({ root: dir });
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const expectRetriedStorageError = async (run: Promise<unknown>) => {
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('STORAGE_ERROR');
    expect((err as AppError).status).toBe(503);
    const jobError = toJobError(err);
    expect(jobError).not.toBeInstanceOf(UnrecoverableError);
    expect(jobError.message).toMatch(/^STORAGE_ERROR: /);
  };

  it('in render', async () => {
    await expectRetriedStorageError(
      processRender(
        { ...base, options: { widths: [100], formats: ['webp'] } },
        input,
        { storage, decodeLimits: { maxPixels: 1e8 }, writeMaster: false },
        noProgress,
      ),
    );
  });

  it('in inference', async () => {
    const step = {
      version: '1',
      optionsSchema: { parse: (o: unknown) => o },
      model: () => ({ name: 'm', sha256: 'e'.repeat(64) }),
    } as unknown as InferenceStep;
    const deps = { storage, decodeLimits: { maxPixels: 1e8 }, maxOutputPixels: 1e8 } as unknown as InferenceDeps;
    await expectRetriedStorageError(
      processInference('remove-background', step, { ...base, options: {} } as never, input, deps, noProgress),
    );
  });

  it('in generate', async () => {
    const [id, versioned] = [...builtinTemplates()].find(
      ([, v]) => v.template.backdrop.type !== 'generator' && v.template.backdrop.type !== 'backplate',
    )!;
    await expectRetriedStorageError(
      processGenerate(
        {
          ...base,
          options: {
            templateId: id,
            templateVersion: versioned.version,
            template: versioned.template as never,
            channels: [CHANNEL_NAMES[0]],
          },
        },
        input,
        { storage, decodeLimits: { maxPixels: 1e8 } },
        noProgress,
      ),
    );
  });
});
