import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attr, GraphBuilder, type ValueInfo } from '../keras-to-onnx/graph-builder.js';
import { writeOnnx } from '../keras-to-onnx/write-onnx.js';
import { loadGenerator } from './generator.js';
import { writeTestGenerator } from './testing/test-graph.js';

const logger = pino({ level: 'silent' });
const IMAGE: ValueInfo = { name: 'image', dims: [1, 3, 'H', 'W'] };
const MASK: ValueInfo = { name: 'mask', dims: [1, 1, 'H', 'W'] };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'generator-contract-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A model whose outputs are copies of its inputs: enough to test what loading checks. */
async function writeModel(name: string, inputs: ValueInfo[], outputs: Array<ValueInfo & { from: string; op?: string }>): Promise<string> {
  const b = new GraphBuilder(name);
  for (const i of inputs) b.addInput(i.name, i.dims);
  for (const o of outputs) {
    b.reserve(o.name);
    b.rename(b.node(o.op ?? 'Identity', [o.from], `${o.name}_copy`), o.name);
    b.addOutput(o.name, o.dims);
  }
  const file = path.join(dir, `${name}.onnx`);
  await writeFile(file, writeOnnx(b.build(), { producerName: 'contract tests', producerVersion: '1' }));
  return file;
}

async function loadError(modelPath: string) {
  const err = await loadGenerator({ modelPath, executionProvider: 'cpu' }, logger).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the model should have been refused').toBeDefined();
  expect(err).toMatchObject({
    code: 'GENERATOR_MODEL_INVALID',
    status: 500,
    details: expect.objectContaining({ modelPath, retryable: false }),
  });
  expect((err as Error).message).toContain(modelPath);
  return err as Error & { details: Record<string, unknown> };
}

describe('loadGenerator refuses a model that breaks the contract, naming the file and the tensor', () => {
  it('a path with no file', async () => {
    const missing = path.join(dir, 'nowhere.onnx');
    expect((await loadError(missing)).message).toMatch(/cannot be read \(ENOENT/);
  });

  it('a file that is not ONNX', async () => {
    const png = path.join(dir, 'picture.onnx');
    await writeFile(png, await readFile(new URL('../../test/fixtures/d02_mug_woodtable.mask.png', import.meta.url)));
    expect((await loadError(png)).message).toMatch(/is not a loadable ONNX model/);
  });

  const bad: Array<[string, ValueInfo[], Array<ValueInfo & { from: string; op?: string }>, RegExp, string]> = [
    [
      'no-image',
      [{ name: 'picture', dims: [1, 3, 'H', 'W'] }, MASK],
      [{ name: 'background', dims: [1, 3, 'H', 'W'], from: 'picture' }],
      /no input named "image" \(inputs: picture, mask\)/,
      'image',
    ],
    ['no-mask', [IMAGE], [{ name: 'background', dims: [1, 3, 'H', 'W'], from: 'image' }], /no input named "mask"/, 'mask'],
    [
      'image-rank-3',
      [{ name: 'image', dims: [3, 'H', 'W'] }, MASK],
      [{ name: 'background', dims: [3, 'H', 'W'], from: 'image' }],
      /input "image" must have rank 4 \[1, 3, H, W\], not \[3, H, W\]/,
      'image',
    ],
    [
      'mask-two-channels',
      [IMAGE, { name: 'mask', dims: [1, 2, 'H', 'W'] }],
      [{ name: 'background', dims: [1, 3, 'H', 'W'], from: 'image' }],
      /input "mask" must have 1 channel/,
      'mask',
    ],
    [
      'batch-of-two',
      [{ name: 'image', dims: [2, 3, 'H', 'W'] }, MASK],
      [{ name: 'background', dims: [2, 3, 'H', 'W'], from: 'image' }],
      /input "image" must have batch size 1/,
      'image',
    ],
    [
      'half-fixed',
      [{ name: 'image', dims: [1, 3, 64, 64] }, MASK],
      [{ name: 'background', dims: [1, 3, 64, 64], from: 'image' }],
      /must both fix H and W, or leave both dynamic/,
      'image',
    ],
    [
      'sizes-differ',
      [
        { name: 'image', dims: [1, 3, 64, 64] },
        { name: 'mask', dims: [1, 1, 32, 32] },
      ],
      [{ name: 'background', dims: [1, 3, 64, 64], from: 'image' }],
      /must have the same H and W/,
      'mask',
    ],
    [
      'param-vector',
      [IMAGE, MASK, { name: 'colour', dims: [3] }],
      [{ name: 'background', dims: [1, 3, 'H', 'W'], from: 'image' }],
      /parameter input "colour" must be a float32 scalar of shape \[\] or \[1\], not \[3\]/,
      'colour',
    ],
    [
      'no-output',
      [IMAGE, MASK],
      [{ name: 'picture', dims: [1, 3, 'H', 'W'], from: 'image' }],
      /no output named "background" or "scene" \(outputs: picture\)/,
      'output',
    ],
    [
      'two-outputs',
      [IMAGE, MASK],
      [
        { name: 'background', dims: [1, 3, 'H', 'W'], from: 'image' },
        { name: 'scene', dims: [1, 3, 'H', 'W'], from: 'image' },
      ],
      /both a "background" and a "scene" output/,
      'output',
    ],
    [
      'output-rank-2',
      [IMAGE, MASK],
      [{ name: 'background', dims: [1, 'N'], from: 'image', op: 'Flatten' }],
      /output "background" must have rank 4 \[1, 3\|4, H, W\], not \[1, N\]/,
      'background',
    ],
    [
      'output-one-channel',
      [IMAGE, MASK],
      [{ name: 'scene', dims: [1, 1, 'H', 'W'], from: 'mask' }],
      /output "scene" must have 3 or 4 channels, not \[1, 1, H, W\]/,
      'scene',
    ],
  ];
  for (const [name, inputs, outputs, message, tensor] of bad) {
    it(name, async () => {
      const err = await loadError(await writeModel(name, inputs, outputs));
      expect(err.message).toMatch(message);
      expect(err.details.tensor).toBe(tensor);
    });
  }

  it('an input of the wrong element type', async () => {
    // The graph writer only writes float32; switch the mask to int64 in the protobuf itself.
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(await readFile(await writeTestGenerator(dir)));
    model.graph!.input!.find((i) => i.name === 'mask')!.type!.tensorType!.elemType = onnx.TensorProto.DataType.INT64;
    model.graph!.node!.unshift({
      name: 'mask_float',
      opType: 'Cast',
      input: ['mask'],
      output: ['mask_f'],
      attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    });
    for (const n of model.graph!.node!.slice(1)) n.input = n.input!.map((i) => (i === 'mask' ? 'mask_f' : i));
    const file = path.join(dir, 'int-mask.onnx');
    await writeFile(file, onnx.ModelProto.encode(model).finish());
    expect((await loadError(file)).message).toMatch(/input "mask" must be a float32 tensor/);
  });

  it('a model whose dynamic output channels turn out wrong at run time', async () => {
    // background = the mask tiled `copies` times along channels: unknown until it runs.
    const b = new GraphBuilder('dynamic-channels');
    for (const i of [IMAGE, MASK, { name: 'copies', dims: [1] }]) b.addInput(i.name, i.dims);
    const copies = b.node('Cast', ['copies'], 'copies_i64', { to: attr.int(7) });
    const repeats = b.node('Concat', [b.int64Tensor('one', [1]), copies, b.int64Tensor('ones', [1, 1])], 'repeats', { axis: attr.int(0) });
    b.reserve('background');
    b.rename(b.node('Tile', ['mask', repeats], 'tiled'), 'background');
    b.addOutput('background', [1, 'C', 'H', 'W']);
    const file = path.join(dir, 'dynamic-channels.onnx');
    await writeFile(file, writeOnnx(b.build(), { producerName: 'contract tests', producerVersion: '1' }));
    const generator = await loadGenerator({ modelPath: file, executionProvider: 'cpu' }, logger);
    const cutout = Buffer.alloc(4 * 4 * 4, 255);
    expect(await generator.run({ cutout, width: 4, height: 4, params: { copies: 3 } })).toMatchObject({ channels: 3, kind: 'background' });
    const err = await generator.run({ cutout, width: 4, height: 4, params: { copies: 2 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'GENERATOR_MODEL_INVALID',
      message: expect.stringMatching(/output "background" came back as float32 \[1, 2, 4, 4\]/),
    });
  });

  it('accepts parameters declared as rank-0 scalars', async () => {
    const b = new GraphBuilder('scalar-param');
    for (const i of [IMAGE, MASK, { name: 'gain', dims: [] }]) b.addInput(i.name, i.dims);
    b.reserve('background');
    b.rename(b.node('Mul', ['image', 'gain'], 'scaled'), 'background');
    b.addOutput('background', [1, 3, 'H', 'W']);
    const file = path.join(dir, 'scalar-param.onnx');
    await writeFile(file, writeOnnx(b.build(), { producerName: 'contract tests', producerVersion: '1' }));
    const generator = await loadGenerator({ modelPath: file, executionProvider: 'cpu' }, logger);
    const out = await generator.run({ cutout: Buffer.from([200, 100, 50, 255]), width: 1, height: 1, params: { gain: 0.5 } });
    expect([...out.data]).toEqual([100, 50, 25]);
  });

  it('an execution provider it does not know', async () => {
    const modelPath = await writeTestGenerator(dir);
    await expect(loadGenerator({ modelPath, executionProvider: 'tpu' }, logger)).rejects.toMatchObject({
      code: 'GENERATOR_MODEL_INVALID',
      message: expect.stringMatching(/unknown execution provider "tpu"/),
    });
  });
});
