import { describe, expect, it } from 'vitest';
import { generatorConfigFromEnv } from './config.js';

describe('generatorConfigFromEnv', () => {
  it('is undefined without GENERATOR_MODEL_PATH (templates only)', () => {
    expect(generatorConfigFromEnv({})).toBeUndefined();
    expect(generatorConfigFromEnv({ GENERATOR_MODEL_PATH: '', ORT_EXECUTION_PROVIDER: 'cuda' })).toBeUndefined();
  });

  it('takes its own provider, else the one the other models use, else cpu', () => {
    const modelPath = '/models/scene.onnx';
    expect(generatorConfigFromEnv({ GENERATOR_MODEL_PATH: modelPath })).toEqual({ modelPath, executionProvider: 'cpu' });
    expect(generatorConfigFromEnv({ GENERATOR_MODEL_PATH: modelPath, ORT_EXECUTION_PROVIDER: 'cuda' })).toEqual({
      modelPath,
      executionProvider: 'cuda',
    });
    expect(
      generatorConfigFromEnv({ GENERATOR_MODEL_PATH: modelPath, ORT_EXECUTION_PROVIDER: 'cuda', GENERATOR_EXECUTION_PROVIDER: 'webgpu' }),
    ).toEqual({
      modelPath,
      executionProvider: 'webgpu',
    });
  });

  it('refuses an unknown provider at boot, naming the variable', () => {
    expect(() => generatorConfigFromEnv({ GENERATOR_MODEL_PATH: '/m.onnx', GENERATOR_EXECUTION_PROVIDER: 'tpu' })).toThrow(
      /GENERATOR_EXECUTION_PROVIDER/,
    );
  });
});
