/**
 * The plug-in point for an operator-supplied ONNX generator: load and check the model once per
 * process, then turn an RGBA cut-out plus named parameters into a background or a whole scene.
 * The contract is in docs/generator.md; `contract.ts` enforces it at load.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../config.js';
import type { GeneratorConfig } from './config.js';
import { invalidModel, readContract, type GeneratorContract } from './contract.js';

export interface GeneratorInput {
  /** Straight (not premultiplied) RGBA, 8-bit, row-major, `width * height * 4` bytes. */
  cutout: Buffer;
  width: number;
  height: number;
  /** One value per parameter the model declares (its scalar inputs), by name. */
  params: Record<string, number>;
}

export interface GeneratorOutput {
  /** Interleaved 8-bit pixels at the input's width and height. */
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
  /** `background`: to composite the cut-out onto; `scene`: the finished picture. */
  kind: 'background' | 'scene';
}

export interface SceneGenerator {
  /** The model file's name without `.onnx`. */
  name: string;
  /** sha256 (hex) of the model file: goes into step output ids, so a new model means new renditions. */
  sha256: string;
  run(input: GeneratorInput, signal?: AbortSignal): Promise<GeneratorOutput>;
}

const PROVIDERS = EXECUTION_PROVIDERS;
type Provider = ExecutionProvider;

/** Sessions by resolved path + sha256 + provider; the file's sha by path, size and mtime. */
const generators = new Map<string, Promise<SceneGenerator>>();
const hashes = new Map<string, { stamp: string; sha256: string }>();

/**
 * The process-wide generator for `config`, created on first use: the file is hashed, loaded on
 * the configured execution provider (falling back to cpu, logged, when that provider is not
 * available here) and checked against the contract. Throws `GENERATOR_MODEL_INVALID` naming the
 * model path (and the offending tensor) when the file is missing, not ONNX, or breaks the contract.
 * Cheap to call per job: an unchanged file (same size and mtime) is not hashed again.
 */
export async function loadGenerator(config: GeneratorConfig, logger: Logger): Promise<SceneGenerator> {
  const modelPath = path.resolve(config.modelPath);
  if (!(PROVIDERS as readonly string[]).includes(config.executionProvider)) {
    throw invalidModel(modelPath, `unknown execution provider "${config.executionProvider}" (one of ${PROVIDERS.join(', ')})`);
  }
  const sha256 = await hashModel(modelPath);
  const key = `${modelPath}:${sha256}:${config.executionProvider}`;
  let generator = generators.get(key);
  if (!generator) {
    generator = createGenerator(modelPath, sha256, config.executionProvider as Provider, logger);
    generator.catch(() => generators.delete(key));
    generators.set(key, generator);
  }
  return generator;
}

/** The file's sha256, streamed (models can be larger than a Buffer), remembered while size and mtime stay. */
async function hashModel(modelPath: string): Promise<string> {
  let stamp: string;
  try {
    const s = await stat(modelPath);
    if (!s.isFile()) throw new Error('not a regular file');
    stamp = `${s.size}:${s.mtimeMs}`;
  } catch (err) {
    throw invalidModel(modelPath, `cannot be read (${(err as Error).message})`);
  }
  const known = hashes.get(modelPath);
  if (known?.stamp === stamp) return known.sha256;
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(modelPath)) hash.update(chunk as Buffer);
  } catch (err) {
    throw invalidModel(modelPath, `cannot be read (${(err as Error).message})`);
  }
  const sha256 = hash.digest('hex');
  hashes.set(modelPath, { stamp, sha256 });
  return sha256;
}

async function createGenerator(modelPath: string, sha256: string, wanted: Provider, logger: Logger): Promise<SceneGenerator> {
  const started = Date.now();
  // Loaded by path, not from bytes, so models with external weight files (over 2 GB) work too.
  const open = async (provider: Provider) => {
    try {
      return await ort.InferenceSession.create(modelPath, { executionProviders: [provider], graphOptimizationLevel: 'all' });
    } catch (err) {
      if (provider !== 'cpu') throw err;
      throw invalidModel(modelPath, `is not a loadable ONNX model (${(err as Error).message.split('\n')[0]})`, { sha256 });
    }
  };
  let provider = wanted;
  let session: ort.InferenceSession;
  try {
    session = await open(provider);
  } catch (err) {
    if (provider === 'cpu') throw err;
    logger.warn({ model: modelPath, provider, err: (err as Error).message }, 'execution provider unavailable; falling back to cpu');
    provider = 'cpu';
    session = await open(provider);
  }
  let contract: GeneratorContract;
  try {
    contract = readContract(modelPath, session.inputMetadata, session.outputMetadata);
  } catch (err) {
    await session.release();
    throw err;
  }
  logger.info(
    {
      model: modelPath,
      sha256,
      provider,
      kind: contract.kind,
      params: contract.params,
      size: contract.size ?? 'dynamic',
      ms: Date.now() - started,
    },
    'generator model ready',
  );
  return {
    name: path.basename(modelPath).replace(/\.onnx$/i, ''),
    sha256,
    run: (input, signal) => runGenerator(session, contract, modelPath, input, signal),
  };
}

async function runGenerator(
  session: ort.InferenceSession,
  contract: GeneratorContract,
  modelPath: string,
  input: GeneratorInput,
  signal?: AbortSignal,
): Promise<GeneratorOutput> {
  const { width, height } = input;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || input.cutout.length !== width * height * 4) {
    throw new RangeError(
      `generator input: expected ${width}x${height} RGBA (${width * height * 4} bytes), got ${input.cutout.length} bytes`,
    );
  }
  const feeds: Record<string, ort.Tensor> = paramFeeds(contract, input.params);
  signal?.throwIfAborted();
  const size = contract.size ?? { width, height };
  const { rgb, alpha } = await planesAtSize(input.cutout, width, height, size);
  const plane = size.width * size.height;
  const image = new Float32Array(plane * 3);
  const mask = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    image[i] = rgb[i * 3]! / 255;
    image[plane + i] = rgb[i * 3 + 1]! / 255;
    image[2 * plane + i] = rgb[i * 3 + 2]! / 255;
    mask[i] = alpha[i]! / 255;
  }
  feeds.image = new ort.Tensor('float32', image, [1, 3, size.height, size.width]);
  feeds.mask = new ort.Tensor('float32', mask, [1, 1, size.height, size.width]);
  signal?.throwIfAborted();
  const result = await session.run(feeds, [contract.output]);
  signal?.throwIfAborted();
  const out = result[contract.output]!;
  const [n, c, h, w] = out.dims as number[];
  if (out.type !== 'float32' || out.dims.length !== 4 || n !== 1 || (c !== 3 && c !== 4) || !h || !w) {
    throw invalidModel(
      modelPath,
      `output "${contract.output}" came back as ${out.type} [${out.dims.join(', ')}], expected float32 [1, 3|4, H, W]`,
    );
  }
  const data = toInterleaved8bit(out.data as Float32Array, c, h, w, modelPath, contract.output);
  const resized =
    h === height && w === width
      ? data
      : await sharp(data, { raw: { width: w, height: h, channels: c } })
          .resize(width, height, { fit: 'fill' })
          .raw()
          .toBuffer();
  return { data: resized, width, height, channels: c, kind: contract.kind };
}

/**
 * The cut-out's colour and alpha at the model's size. They are resized apart (for fixed-size
 * models) so colour under transparent pixels keeps its value instead of being premultiplied away.
 */
async function planesAtSize(cutout: Buffer, width: number, height: number, size: { width: number; height: number }) {
  const n = width * height;
  const rgb = Buffer.allocUnsafe(n * 3);
  const alpha = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = cutout[i * 4]!;
    rgb[i * 3 + 1] = cutout[i * 4 + 1]!;
    rgb[i * 3 + 2] = cutout[i * 4 + 2]!;
    alpha[i] = cutout[i * 4 + 3]!;
  }
  if (size.width === width && size.height === height) return { rgb, alpha };
  const resize = (data: Buffer, channels: 1 | 3) =>
    sharp(data, { raw: { width, height, channels } }).resize(size.width, size.height, { fit: 'fill' }).raw().toBuffer();
  const [r, a] = await Promise.all([resize(rgb, 3), resize(alpha, 1)]);
  return { rgb: r, alpha: a };
}

/** One scalar tensor per declared parameter; a missing or unknown name is the caller's 422. */
function paramFeeds(contract: GeneratorContract, given: Record<string, number>): Record<string, ort.Tensor> {
  const declared = contract.params;
  // Own keys only: a model parameter named like an Object.prototype member is not "given" by default.
  const missing = declared.filter((p) => !Object.hasOwn(given, p));
  const unknown = Object.keys(given).filter((p) => !declared.includes(p));
  const notFinite = declared.filter((p) => Object.hasOwn(given, p) && !Number.isFinite(given[p]));
  if (missing.length || unknown.length || notFinite.length) {
    const parts = [
      missing.length ? `missing ${missing.join(', ')}` : '',
      unknown.length ? `unknown ${unknown.join(', ')}` : '',
      notFinite.length ? `not a finite number: ${notFinite.join(', ')}` : '',
    ].filter(Boolean);
    throw new AppError(
      'INVALID_GENERATOR_PARAMS',
      `generator parameters: ${parts.join('; ')} (the model takes: ${declared.join(', ') || 'none'})`,
      {
        expected: declared,
        missing,
        unknown,
        notFinite,
      },
    );
  }
  return Object.fromEntries(declared.map((p) => [p, new ort.Tensor('float32', Float32Array.of(given[p]!), contract.paramShapes[p])]));
}

/** Planar float 0..1 to interleaved 8-bit, clamped; NaN or infinity means the model misbehaved. */
function toInterleaved8bit(values: Float32Array, channels: number, height: number, width: number, modelPath: string, name: string): Buffer {
  const plane = width * height;
  const out = Buffer.allocUnsafe(plane * channels);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    for (let i = 0; i < plane; i++) {
      const v = values[base + i]!;
      if (!Number.isFinite(v)) throw invalidModel(modelPath, `output "${name}" holds a non-finite value (${v})`);
      out[i * channels + c] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
    }
  }
  return out;
}
