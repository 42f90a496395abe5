/**
 * A small generator model built by the project itself, so the plug-in point runs real ONNX
 * inference in tests without any operator-supplied file. Its background is a deterministic
 * function of its inputs that `expectedTestGeneratorOutput` computes in JavaScript:
 *
 *   mean   = ReduceMean(image * mask) / (ReduceMean(mask) + 1e-6)       (the product's mean colour)
 *   t(y)   = y / max(H - 1, 1)                                           (0 at the top row, 1 at the bottom)
 *   grad   = top + (bottom - top) * t(y)                                  (a vertical gradient)
 *   background = grad * (1 - tint) + mean * tint
 *   scene      = [image * mask + background * (1 - mask), 1]              (4 channels, opaque)
 *
 * Parameters are named scalar inputs (`top_r` … `tint`), as the contract in docs/generator.md asks.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { attr, GraphBuilder } from '../../keras-to-onnx/graph-builder.js';
import { writeOnnx } from '../../keras-to-onnx/write-onnx.js';

/** The parameters the test model declares, in the order the gradient reads them. */
export const TEST_GENERATOR_PARAMS = ['top_r', 'top_g', 'top_b', 'bottom_r', 'bottom_g', 'bottom_b', 'tint'] as const;
export type TestGeneratorParams = Record<(typeof TEST_GENERATOR_PARAMS)[number], number>;

export interface TestGeneratorOptions {
  /** `background` (3 channels) or `scene` (the cut-out composited, 4 channels). Default background. */
  kind?: 'background' | 'scene';
  /** A fixed input size (the service resizes to it and back); dynamic H/W when left out. */
  size?: { width: number; height: number };
}

const FLOAT = 1; // onnx TensorProto.DataType.FLOAT

/** The ONNX bytes of the test generator. Same options, same bytes. */
export function buildTestGenerator(options: TestGeneratorOptions = {}): Uint8Array {
  const kind = options.kind ?? 'background';
  const h: number | string = options.size?.height ?? 'H';
  const w: number | string = options.size?.width ?? 'W';
  const b = new GraphBuilder(`test-generator-${kind}`);
  const image = b.addInput('image', [1, 3, h, w]);
  const mask = b.addInput('mask', [1, 1, h, w]);
  const p = Object.fromEntries(TEST_GENERATOR_PARAMS.map((n) => [n, b.addInput(n, [1])])) as Record<string, string>;

  const masked = b.node('Mul', [image, mask], 'masked');
  const imageMean = b.node('ReduceMean', [masked], 'masked_mean', { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
  const maskMean = b.node('ReduceMean', [mask], 'mask_mean', { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
  const mean = b.node('Div', [imageMean, b.node('Add', [maskMean, b.floatScalar(1e-6)], 'mask_mean_eps')], 'mean_colour');

  const colour4d = b.int64Tensor('colour_shape', [1, 3, 1, 1]);
  const top = b.node('Reshape', [b.node('Concat', [p.top_r!, p.top_g!, p.top_b!], 'top', { axis: attr.int(0) }), colour4d], 'top_4d');
  const bottom = b.node(
    'Reshape',
    [b.node('Concat', [p.bottom_r!, p.bottom_g!, p.bottom_b!], 'bottom', { axis: attr.int(0) }), colour4d],
    'bottom_4d',
  );

  // Row ramp 0..1 built from the image's own height, so the same graph serves any H.
  const shape = b.node('Shape', [image], 'image_shape');
  const heightIndex = b.unique('height_index');
  b.initializers.push({ name: heightIndex, dims: [], data: { type: 'int64', values: BigInt64Array.of(2n) } });
  const height = b.node('Cast', [b.node('Gather', [shape, heightIndex], 'height_i64', { axis: attr.int(0) })], 'height', {
    to: attr.int(FLOAT),
  });
  const rows = b.node('Range', [b.floatScalar(0), height, b.floatScalar(1)], 'rows');
  const lastRow = b.node('Max', [b.node('Sub', [height, b.floatScalar(1)], 'height_minus_1'), b.floatScalar(1)], 'last_row');
  const t = b.node('Reshape', [b.node('Div', [rows, lastRow], 't'), b.int64Tensor('ramp_shape', [1, 1, -1, 1])], 't_4d');
  const gradient = b.node('Add', [top, b.node('Mul', [b.node('Sub', [bottom, top], 'span'), t], 'span_t')], 'gradient_column');
  const gradientFull = b.node('Expand', [gradient, shape], 'gradient');

  const tint = b.node('Reshape', [p.tint!, b.int64Tensor('scalar_4d', [1, 1, 1, 1])], 'tint_4d');
  const keep = b.node('Sub', [b.floatScalar(1), tint], 'one_minus_tint');
  const background = b.node(
    'Add',
    [b.node('Mul', [gradientFull, keep], 'gradient_part'), b.node('Mul', [mean, tint], 'tint_part')],
    'background_rgb',
  );

  if (kind === 'background') {
    b.reserve('background');
    b.rename(background, 'background');
    b.addOutput('background', [1, 3, h, w]);
  } else {
    const behind = b.node('Mul', [background, b.node('Sub', [b.floatScalar(1), mask], 'one_minus_mask')], 'behind');
    const rgb = b.node('Add', [masked, behind], 'composite');
    const opaque = b.node('Add', [b.node('Mul', [mask, b.floatScalar(0)], 'zeros'), b.floatScalar(1)], 'opaque');
    b.reserve('scene');
    b.rename(b.node('Concat', [rgb, opaque], 'scene_rgba', { axis: attr.int(1) }), 'scene');
    b.addOutput('scene', [1, 4, h, w]);
  }
  return writeOnnx(b.build(), { producerName: 'product-image-pipeline test generator', producerVersion: '1' });
}

/**
 * Write the test generator into `dir` and return the model's path. The end-to-end tests of the
 * `generate` step point `GENERATOR_MODEL_PATH` at it.
 */
export async function writeTestGenerator(dir: string, options: TestGeneratorOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const size = options.size ? `-${options.size.width}x${options.size.height}` : '';
  const file = path.join(dir, `test-generator-${options.kind ?? 'background'}${size}.onnx`);
  await writeFile(file, buildTestGenerator(options));
  return file;
}

/**
 * What the test generator computes, in float64, from an 8-bit RGBA cut-out, as interleaved
 * 0..1 values (3 channels for background, 4 for scene). The model sees straight (not
 * premultiplied) RGB and the alpha channel as its mask, exactly as the service feeds it.
 */
export function expectedTestGeneratorOutput(
  cutout: Buffer,
  width: number,
  height: number,
  params: TestGeneratorParams,
  kind: 'background' | 'scene' = 'background',
): Float64Array {
  const n = width * height;
  const sums = [0, 0, 0];
  let maskSum = 0;
  for (let i = 0; i < n; i++) {
    const a = cutout[i * 4 + 3]! / 255;
    maskSum += a;
    for (let c = 0; c < 3; c++) sums[c]! += (cutout[i * 4 + c]! / 255) * a;
  }
  const mean = sums.map((s) => s / n / (maskSum / n + 1e-6));
  const top = [params.top_r, params.top_g, params.top_b];
  const bottom = [params.bottom_r, params.bottom_g, params.bottom_b];
  const channels = kind === 'background' ? 3 : 4;
  const out = new Float64Array(n * channels);
  for (let y = 0; y < height; y++) {
    const t = y / Math.max(height - 1, 1);
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const a = cutout[i * 4 + 3]! / 255;
      for (let c = 0; c < 3; c++) {
        const bg = (top[c]! + (bottom[c]! - top[c]!) * t) * (1 - params.tint) + mean[c]! * params.tint;
        out[i * channels + c] = kind === 'background' ? bg : (cutout[i * 4 + c]! / 255) * a + bg * (1 - a);
      }
      if (channels === 4) out[i * channels + 3] = 1;
    }
  }
  return out;
}
