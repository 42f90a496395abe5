/**
 * Dev-only: the ORIGINAL models run by TensorFlow.js, the reference the converter is checked
 * against (equivalence test) and the peer the upscaler is benchmarked against. Nothing in the
 * service imports this file.
 *
 * TensorFlow.js is a dev dependency. It is found, in order, under `TFJS_DIR` (a folder whose
 * `node_modules` holds `@tensorflow/tfjs`, and `@tensorflow/tfjs-backend-wasm` for the wasm
 * backend) or among the repo's own dependencies. When it is missing this module throws with the
 * install command: the tests that need it must fail, not skip.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The slice of the TensorFlow.js API used here (typed loosely: tfjs is not a build dependency). */
export interface Tfjs {
  version: { tfjs: string };
  ready(): Promise<void>;
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  tensor4d(values: Float32Array, shape: [number, number, number, number], dtype: 'float32'): TfTensor;
  tidy<T>(fn: () => T): T;
  mul(x: TfTensor, y: number): TfTensor;
  depthToSpace(x: TfTensor, blockSize: number, format: 'NHWC'): TfTensor;
  loadLayersModel(handler: { load(): Promise<unknown> }): Promise<TfLayersModel>;
  serialization: { registerClass(cls: unknown): void };
  layers: { Layer: new (config: object) => object };
  disposeVariables(): void;
  env(): { getAsync(flag: string): Promise<unknown> };
}

export interface TfTensor {
  shape: number[];
  data(): Promise<Float32Array>;
  dispose(): void;
}

export interface TfLayersModel {
  predict(x: TfTensor): TfTensor | TfTensor[];
  dispose(): void;
}

export const TFJS_INSTALL_HINT =
  'TensorFlow.js is needed as the reference: `npm install --save-dev @tensorflow/tfjs @tensorflow/tfjs-backend-wasm` ' +
  '(or install them into a folder outside the repo and point TFJS_DIR at it, e.g. ' +
  '`npm install --prefix /tmp/tfjs @tensorflow/tfjs @tensorflow/tfjs-backend-wasm` and TFJS_DIR=/tmp/tfjs).';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

function resolver(): NodeJS.Require[] {
  const bases = [process.env.TFJS_DIR, repoRoot].filter((b): b is string => !!b);
  return bases.map((b) => createRequire(path.join(path.resolve(b), 'package.json')));
}

/** The entry file of a dev package, or a loud error with the install hint. */
function resolvePackage(name: string): string {
  for (const req of resolver()) {
    try {
      return req.resolve(name);
    } catch {
      // not under this base; try the next
    }
  }
  throw new Error(`${name} not found. ${TFJS_INSTALL_HINT}`);
}

async function importPackage(name: string): Promise<unknown> {
  const mod = (await import(pathToFileURL(resolvePackage(name)).href)) as { default?: unknown };
  return mod.default ?? mod;
}

let loaded: Promise<Tfjs> | undefined;

/**
 * TensorFlow.js on the given backend: `cpu` (pure JavaScript, the numerical reference) or `wasm`
 * (XNNPACK, the fastest backend tfjs has on Node without native bindings; tfjs itself turns
 * off wasm threads on Node, so it runs single-threaded with SIMD).
 */
export async function loadTfjs(backend: 'cpu' | 'wasm'): Promise<Tfjs> {
  loaded ??= (async () => {
    const tf = (await importPackage('@tensorflow/tfjs')) as Tfjs;
    registerUpscalerLayers(tf);
    return tf;
  })();
  const tf = await loaded;
  if (backend === 'wasm') {
    const wasm = (await importPackage('@tensorflow/tfjs-backend-wasm')) as { setWasmPaths(prefix: string): void };
    // On Node the backend cannot find its .wasm files by itself: point it at the package's dist.
    wasm.setWasmPaths(`${path.dirname(resolvePackage('@tensorflow/tfjs-backend-wasm'))}${path.sep}`);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js backend ${backend} failed to initialise`);
  await tf.ready();
  return tf;
}

/**
 * UpscalerJS's custom layers, re-declared as its model definitions do (`@upscalerjs/*`
 * `dist/.../esrgan.js`): `MultiplyBeta` multiplies by 0.2, `PixelShuffle{N}x` is
 * `depthToSpace(x, N, 'NHWC')`.
 */
function registerUpscalerLayers(tf: Tfjs): void {
  const input = (inputs: TfTensor | TfTensor[]) => (Array.isArray(inputs) ? inputs[0]! : inputs);
  const Layer = tf.layers.Layer;
  class MultiplyBeta extends Layer {
    static className = 'MultiplyBeta';
    constructor() {
      super({});
    }
    call(inputs: TfTensor | TfTensor[]) {
      return tf.mul(input(inputs), 0.2);
    }
  }
  tf.serialization.registerClass(MultiplyBeta);
  for (const scale of [2, 3, 4, 8]) {
    class PixelShuffle extends Layer {
      static className = `PixelShuffle${scale}x`;
      constructor() {
        super({});
      }
      computeOutputShape(shape: number[]) {
        return [
          shape[0],
          shape[1] === null ? null : shape[1]! * scale,
          shape[2] === null ? null : shape[2]! * scale,
          shape[3]! / (scale * scale),
        ];
      }
      call(inputs: TfTensor | TfTensor[]) {
        return tf.depthToSpace(input(inputs), scale, 'NHWC');
      }
    }
    tf.serialization.registerClass(PixelShuffle);
  }
}

/** Load a layers model from disk through tfjs's own loader (an IO handler reading model.json and its shards). */
export async function loadTfjsModel(tf: Tfjs, modelJsonPath: string): Promise<TfLayersModel> {
  const dir = path.dirname(modelJsonPath);
  return tf.loadLayersModel({
    async load() {
      const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as {
        modelTopology: unknown;
        format?: string;
        generatedBy?: string;
        convertedBy?: string;
        weightsManifest: Array<{ paths: string[]; weights: unknown[] }>;
      };
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest) for (const p of group.paths) buffers.push(await readFile(path.join(dir, p)));
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  });
}

/** Run a model on one NHWC float32 input; returns the output values and shape. */
export async function runTfjs(
  tf: Tfjs,
  model: TfLayersModel,
  input: Float32Array,
  shape: [number, number, number, number],
): Promise<{ data: Float32Array; shape: number[] }> {
  const x = tf.tensor4d(input, shape, 'float32');
  try {
    const y = model.predict(x);
    const out = Array.isArray(y) ? y[0]! : y;
    try {
      return { data: await out.data(), shape: out.shape };
    } finally {
      out.dispose();
    }
  } finally {
    x.dispose();
  }
}
