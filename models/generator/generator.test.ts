import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import onnxProto from 'onnx-proto';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { loadGenerator } from './generator.js';
import { expectedTestGeneratorOutput, writeTestGenerator, type TestGeneratorParams } from './testing/test-graph.js';

/** A logger that keeps its JSON lines, to check what loading reported. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A cut-out: a soft-edged ellipse of one colour with a horizontal shading ramp, transparent around. */
function syntheticCutout(width: number, height: number): Buffer {
  const out = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const d = Math.hypot((x - width / 2) / (width * 0.3), (y - height / 2) / (height * 0.35));
      out[i] = 40 + Math.round((150 * x) / width);
      out[i + 1] = 90;
      out[i + 2] = 200 - Math.round((100 * y) / height);
      out[i + 3] = Math.round(255 * Math.min(1, Math.max(0, (1 - d) * 8)));
    }
  }
  return out;
}

const params: TestGeneratorParams = { top_r: 0.9, top_g: 0.85, top_b: 0.8, bottom_r: 0.3, bottom_g: 0.25, bottom_b: 0.2, tint: 0.25 };

function maxDifference(actual: Buffer, expected: Float64Array): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - Math.min(1, Math.max(0, expected[i]!)) * 255));
  return worst;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'generator-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadGenerator on the test model (real ONNX Runtime inference)', () => {
  it('makes the background the model defines, for any size (dynamic H and W)', async () => {
    const file = await writeTestGenerator(dir);
    const { logger, lines } = recordingLogger();
    const generator = await loadGenerator({ modelPath: file, executionProvider: 'cpu' }, logger);
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(generator.name).toBe('test-generator-background');
    expect(generator.sha256).toBe(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    );
    for (const [width, height] of [
      [97, 61],
      [40, 130],
      [1, 1],
    ] as const) {
      const cutout = syntheticCutout(width, height);
      const out = await generator.run({ cutout, width, height, params });
      expect(out).toMatchObject({ width, height, channels: 3, kind: 'background' });
      // Float32 inference against float64 JavaScript, then rounding to 8 bits: within a level.
      expect(maxDifference(out.data, expectedTestGeneratorOutput(cutout, width, height, params))).toBeLessThanOrEqual(0.51);
    }
  });

  it('makes a 4-channel scene when the model names its output "scene"', async () => {
    const generator = await loadGenerator(
      { modelPath: await writeTestGenerator(dir, { kind: 'scene' }), executionProvider: 'cpu' },
      recordingLogger().logger,
    );
    const cutout = syntheticCutout(64, 48);
    const out = await generator.run({ cutout, width: 64, height: 48, params });
    expect(out).toMatchObject({ width: 64, height: 48, channels: 4, kind: 'scene' });
    expect(maxDifference(out.data, expectedTestGeneratorOutput(cutout, 64, 48, params, 'scene'))).toBeLessThanOrEqual(0.51);
  });

  it('resizes in and out of a model with a fixed input size', async () => {
    const file = await writeTestGenerator(dir, { size: { width: 32, height: 24 } });
    const generator = await loadGenerator({ modelPath: file, executionProvider: 'cpu' }, recordingLogger().logger);
    const [width, height] = [120, 90];
    const cutout = syntheticCutout(width, height);
    const out = await generator.run({ cutout, width, height, params });
    expect(out).toMatchObject({ width, height, channels: 3, kind: 'background' });
    // Exactly what the model makes at 32x24 from the colour and alpha sharp shrank apart for it ...
    const shrink = (channels: 1 | 3, pick: (i: number) => number[]) =>
      sharp(Buffer.from(Array.from({ length: width * height }, (_, i) => pick(i)).flat()), { raw: { width, height, channels } })
        .resize(32, 24, { fit: 'fill' })
        .raw()
        .toBuffer();
    const rgb = await shrink(3, (i) => [cutout[i * 4]!, cutout[i * 4 + 1]!, cutout[i * 4 + 2]!]);
    const alpha = await shrink(1, (i) => [cutout[i * 4 + 3]!]);
    const small = Buffer.from(Array.from({ length: 32 * 24 }, (_, i) => [rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!, alpha[i]!]).flat());
    const atModelSize = expectedTestGeneratorOutput(small, 32, 24, params);
    const modelBytes = Buffer.from(Array.from(atModelSize, (v) => Math.round(v * 255)));
    // ... brought back to the requested size by sharp.
    const back = await sharp(modelBytes, { raw: { width: 32, height: 24, channels: 3 } })
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer();
    let worst = 0;
    for (let i = 0; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i]! - out.data[i]!));
    expect(worst).toBeLessThanOrEqual(2);
    // And still a top-to-bottom gradient between the two parameter colours.
    const row = (y: number) => out.data[(y * width + width / 2) * 3]!;
    expect(row(0)).toBeGreaterThan(row(height - 1) + 100);
  });

  it('loads a model whose weights sit in an external data file next to it', async () => {
    // Large models keep their weights outside the .onnx file; move every float initializer out
    // (shape tensors stay inline, as exporters leave them for shape inference).
    const { onnx } = onnxProto;
    const sub = path.join(dir, 'external');
    const model = onnx.ModelProto.decode(await readFile(await writeTestGenerator(sub)));
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const t of model.graph!.initializer!.filter((i) => i.dataType === onnx.TensorProto.DataType.FLOAT)) {
      const raw = Buffer.from(t.rawData!);
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: 'weights.bin' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ];
      chunks.push(raw);
      offset += raw.length;
    }
    await writeFile(path.join(sub, 'weights.bin'), Buffer.concat(chunks));
    const file = path.join(sub, 'external.onnx');
    await writeFile(file, onnx.ModelProto.encode(model).finish());
    const generator = await loadGenerator({ modelPath: file, executionProvider: 'cpu' }, recordingLogger().logger);
    const cutout = syntheticCutout(30, 20);
    const out = await generator.run({ cutout, width: 30, height: 20, params });
    expect(chunks.length).toBeGreaterThan(0);
    expect(maxDifference(out.data, expectedTestGeneratorOutput(cutout, 30, 20, params))).toBeLessThanOrEqual(0.51);
  });

  it('refuses missing, unknown and non-finite parameters with INVALID_GENERATOR_PARAMS (422), naming them', async () => {
    const generator = await loadGenerator({ modelPath: await writeTestGenerator(dir), executionProvider: 'cpu' }, recordingLogger().logger);
    const input = { cutout: syntheticCutout(8, 8), width: 8, height: 8 };
    const { tint: _tint, ...withoutTint } = params;
    const attempts = [withoutTint, { ...params, shine: 1 }, { ...params, tint: Number.NaN }];
    const messages = [/missing tint/, /unknown shine/, /not a finite number: tint/];
    for (const [i, p] of attempts.entries()) {
      const err = await generator.run({ ...input, params: p }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 422, code: 'INVALID_GENERATOR_PARAMS', message: expect.stringMatching(messages[i]!) });
      expect((err as AppError).message).toContain('top_r, top_g, top_b, bottom_r, bottom_g, bottom_b, tint');
    }
  });

  it('keeps one session per model file and provider, and a new one when the file changes', async () => {
    const file = path.join(dir, 'cached.onnx');
    await writeFile(file, await readFile(await writeTestGenerator(dir)));
    const config = { modelPath: file, executionProvider: 'cpu' };
    const first = await loadGenerator(config, recordingLogger().logger);
    expect(await loadGenerator(config, recordingLogger().logger)).toBe(first);
    await writeFile(file, await readFile(await writeTestGenerator(dir, { kind: 'scene' })));
    const changed = await loadGenerator(config, recordingLogger().logger);
    expect(changed).not.toBe(first);
    expect(changed.sha256).not.toBe(first.sha256);
    expect((await changed.run({ cutout: syntheticCutout(4, 4), width: 4, height: 4, params })).kind).toBe('scene');
  });

  it('falls back to cpu, and says so, when the configured provider is not available here', async () => {
    // No CUDA libraries on this machine: the cuda provider fails to load and cpu takes over.
    const file = path.join(dir, 'provider.onnx');
    await writeFile(file, await readFile(await writeTestGenerator(dir)));
    const { logger, lines } = recordingLogger();
    const generator = await loadGenerator({ modelPath: file, executionProvider: 'cuda' }, logger);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, provider: 'cuda', msg: 'execution provider unavailable; falling back to cpu' }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, provider: 'cpu', msg: 'generator model ready', kind: 'background' }));
    const cutout = syntheticCutout(16, 12);
    const out = await generator.run({ cutout, width: 16, height: 12, params });
    expect(maxDifference(out.data, expectedTestGeneratorOutput(cutout, 16, 12, params))).toBeLessThanOrEqual(0.51);
  });

  it('stops before inference when the job is aborted', async () => {
    const generator = await loadGenerator({ modelPath: await writeTestGenerator(dir), executionProvider: 'cpu' }, recordingLogger().logger);
    const controller = new AbortController();
    controller.abort(new Error('job cancelled'));
    await expect(generator.run({ cutout: syntheticCutout(8, 8), width: 8, height: 8, params }, controller.signal)).rejects.toThrow(
      'job cancelled',
    );
  });
});
