import path from 'node:path';
import { nameTable } from '../lib/own-keys.js';
import { kerasToOnnx } from './keras-to-onnx/convert.js';
import { readLayersModel } from './keras-to-onnx/read-layers-model.js';
import type { ModelSpec, TensorSpec } from './spec.js';

/**
 * The super-resolution models UpscalerJS ships on npm (MIT, © Kevin Scott; each package's
 * `LICENSE` and `package.json` say so), as TensorFlow.js Keras layers models converted to ONNX
 * by `keras-to-onnx/` when first used.
 *
 * - `slim` and `medium` (and `default-model`) are RDN networks (idealo ISR): 0..255 in, 0..255 out
 *   (UpscalerJS's `inputRange`/`outputRange` for `architecture: 'rdn'`). They upsample with
 *   UpSampling2D (nearest) + a 3×3 conv. slim: 2 residual dense blocks of 1 conv × 4 channels;
 *   medium: 10 blocks of 1 conv × 64.
 * - `thick` is an RRDN (ESRGAN-style, 10 RRDBs of 3 RDBs of 4 convs, residuals scaled by
 *   `MultiplyBeta` 0.2): 0..1 in and out, upsampling by `PixelShuffle{N}x`. About 7 M parameters,
 *   roughly ten times the compute of medium.
 * - `@upscalerjs/default-model` is ×2 only, and its weights are byte-identical to `esrgan-slim`
 *   ×2 (same shard sha256); it is listed for completeness.
 */

/** The model families a recipe can ask for, by size. */
export const UPSCALE_FAMILIES = ['slim', 'medium', 'thick'] as const;
export type UpscaleFamily = (typeof UPSCALE_FAMILIES)[number];

/** The npm package of each family (all pinned to 1.0.0 below). */
export const UPSCALE_PACKAGES = nameTable<Record<UpscaleFamily | 'default', string>>({
  slim: '@upscalerjs/esrgan-slim',
  medium: '@upscalerjs/esrgan-medium',
  thick: '@upscalerjs/esrgan-thick',
  default: '@upscalerjs/default-model',
});

const VERSION = '1.0.0';

/**
 * sha256 of each converted ONNX file. The converter is deterministic, so these only change when
 * the converter does; `keras-to-onnx/convert.test.ts` rebuilds every model and checks them.
 */
const SHA256: Record<string, string> = {
  'esrgan-slim-x2': 'd4d1d3b3acf7c726e85771002b2c1c6f5ab47276f343eb85bc49649c83fa7d15',
  'esrgan-slim-x3': '7bc4b257e1e5389c56832123ae2de7c88484170300ad834ecd755f08bead7e48',
  'esrgan-slim-x4': '0c22668982d04d3e46170fba8a5d4c0a61c9db7fa57c5f8e9e628aa620a59f9e',
  'esrgan-slim-x8': 'ceac52828137871a80a9fbc868ea48abb72200ea5f82610c5899db574ca51a18',
  'esrgan-medium-x2': '15b7f3928d76bdb9b415cda5f1d1754342ca67b72e2e6d859029d1b917ab2753',
  'esrgan-medium-x3': '8e0669bfec0ff1e14ab7e820b7e44fb9f54c1660e7f52d82c5a2d5f7fd9131ad',
  'esrgan-medium-x4': '0f50c8005a15e4818a2b25d6b87503e6f5d7c65a505e17cd2dbd954b118923d7',
  'esrgan-medium-x8': '6b982dedd2176a108cfa3f9f4a21f7d1608b2e0caa09fba9a0cd449f66d5d7f8',
  'esrgan-thick-x2': '262af212542759dc86f44a50f8f16da0eaf9927378e72b955d357d789f94a1b5',
  'esrgan-thick-x3': 'd06ba473c13fcf02b207ad7fa7fdaca79c949fe6e4e1ab372cc3faccc99328ab',
  'esrgan-thick-x4': '1f411171992386605ca87df0cd1eecaebc04255d56098072bddd4f16ea6f3d9e',
  'esrgan-thick-x8': '0b2fad9e43fa02983ae5e41495aaae089eee24612b2b10e663f312a029e7d811',
  'upscalerjs-default-x2': 'f5bf5318b5fc4e79f3c9e929dac15295474df58198036ad01c3fb618580fbec5',
};

/** NHWC float tensors of any height and width. */
const tensor = (name: string, range: 255 | 1): TensorSpec => ({
  name,
  shape: [1, -1, -1, 3],
  layout: 'NHWC',
  // (x - 0) / (1/255) maps 0..1 pixels to 0..255.
  normalisation: { mean: [0, 0, 0], std: range === 255 ? [1 / 255, 1 / 255, 1 / 255] : [1, 1, 1] },
});

function spec(name: string, pkg: string, dir: string, scale: number, shards: number, io: { input: string; range: 255 | 1 }): ModelSpec {
  const shardFiles = Array.from({ length: shards }, (_, i) => `${dir}/group1-shard${i + 1}of${shards}.bin`);
  const modelJson = `${dir}/model.json`;
  const sha256 = SHA256[name];
  if (!sha256) throw new Error(`no sha256 recorded for ${name}`);
  return {
    name,
    task: 'upscale',
    source: { package: pkg, version: VERSION, files: [modelJson, ...shardFiles] },
    sha256,
    licence: 'MIT',
    input: tensor(io.input, io.range),
    output: tensor('SR', io.range),
    scale,
    async build(packageDir) {
      const model = await readLayersModel(path.join(packageDir, modelJson));
      return kerasToOnnx(model, {
        docString: `${name}: ${pkg}@${VERSION} ${modelJson}, converted from a TensorFlow.js layers model`,
        properties: { source: `${pkg}@${VERSION}/${modelJson}`, licence: 'MIT', scale: String(scale) },
      });
    },
  };
}

const SCALES = [2, 3, 4, 8] as const;

/** Every upscaling model we can build: slim, medium and thick at ×2, ×3, ×4, ×8, plus default-model ×2. */
export const UPSCALE_MODELS: ModelSpec[] = [
  ...SCALES.map((s) => spec(`esrgan-slim-x${s}`, UPSCALE_PACKAGES.slim, `models/x${s}`, s, 1, { input: 'LR', range: 255 })),
  ...SCALES.map((s) => spec(`esrgan-medium-x${s}`, UPSCALE_PACKAGES.medium, `models/x${s}`, s, 1, { input: 'LR', range: 255 })),
  ...SCALES.map((s) =>
    spec(`esrgan-thick-x${s}`, UPSCALE_PACKAGES.thick, `models/x${s}`, s, s === 8 ? 8 : 7, { input: 'LR_input', range: 1 }),
  ),
  spec('upscalerjs-default-x2', UPSCALE_PACKAGES.default, 'models', 2, 1, { input: 'LR', range: 255 }),
];
