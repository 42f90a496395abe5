import { describe, expect, it } from 'vitest';
import { halfToFloat } from '../half-float.js';
import { parseLayersModel, type WeightEntry } from './read-layers-model.js';

const topology = { format: 'layers-model', modelTopology: { model_config: { class_name: 'Functional', config: { layers: [] } } } };

const bytesOf = (arr: Float32Array | Uint16Array | Uint8Array) => new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);

describe('parseLayersModel', () => {
  it('reads float32 weights laid end to end across shard files', () => {
    const entries: WeightEntry[] = [
      { name: 'a/kernel', shape: [2, 3], dtype: 'float32' },
      { name: 'a/bias', shape: [3], dtype: 'float32' },
    ];
    const all = bytesOf(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9));
    // The shard boundary cuts through a float, as the tfjs converter's fixed-size shards do.
    const model = parseLayersModel(topology, [{ entries, shards: [all.slice(0, 10), all.slice(10)] }]);
    expect(Array.from(model.weights.get('a/kernel')!.values)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(model.weights.get('a/kernel')!.shape).toEqual([2, 3]);
    expect(Array.from(model.weights.get('a/bias')!.values)).toEqual([7, 8, 9]);
  });

  it('dequantises uint8, uint16 and float16 weights', () => {
    const entries: WeightEntry[] = [
      { name: 'u8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'u16', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 1 } },
      { name: 'f16', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
    ];
    // 3 bytes of uint8 then, unaligned, uint16 and float16 values (little-endian).
    const bytes = new Uint8Array([0, 2, 4, ...bytesOf(Uint16Array.of(4, 8)), ...bytesOf(Uint16Array.of(0x3c00, 0xc000, 0x3555))]);
    const model = parseLayersModel(topology, [{ entries, shards: [bytes] }]);
    expect(Array.from(model.weights.get('u8')!.values)).toEqual([-1, 0, 1]);
    expect(Array.from(model.weights.get('u16')!.values)).toEqual([2, 3]);
    const f16 = Array.from(model.weights.get('f16')!.values);
    expect(f16[0]).toBe(1);
    expect(f16[1]).toBe(-2);
    expect(f16[2]).toBeCloseTo(1 / 3, 3);
  });

  it('refuses a manifest that does not match its shards, and graph models', () => {
    const entries: WeightEntry[] = [{ name: 'w', shape: [4], dtype: 'float32' }];
    expect(() => parseLayersModel(topology, [{ entries, shards: [new Uint8Array(12)] }])).toThrow(/runs past the end/);
    expect(() => parseLayersModel(topology, [{ entries, shards: [new Uint8Array(20)] }])).toThrow(
      /describes 16 bytes but its shards hold 20/,
    );
    expect(() => parseLayersModel({ ...topology, format: 'graph-model' }, [])).toThrow(/graph models are not Keras layers/);
  });

  it('decodes half floats, denormals and infinities included', () => {
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x8000)).toBe(-0);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });
});
