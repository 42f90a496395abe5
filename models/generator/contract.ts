/**
 * The input/output contract an operator's generator model must meet (docs/generator.md), checked
 * once against the loaded session's metadata so a wrong model fails at startup, naming the file
 * and the tensor, instead of on the first job.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { AppError } from '../../lib/errors.js';

export type GeneratorKind = 'background' | 'scene';

/** What the service needs to know to feed the model and read its answer. */
export interface GeneratorContract {
  kind: GeneratorKind;
  /** The output tensor's name (`background` or `scene`). */
  output: GeneratorKind;
  /** Fixed model input size (inputs and outputs are resized to and from it), or undefined for dynamic H/W. */
  size?: { width: number; height: number };
  /** Parameter names: every float32 scalar input besides `image` and `mask`, in the model's order. */
  params: string[];
  /** The shape each parameter is fed with: `[]` or `[1]`, as the model declares it. */
  paramShapes: Record<string, number[]>;
  /** Output channels when the model fixes them (3 or 4); checked on every run otherwise. */
  outputChannels?: 3 | 4;
}

type Metadata = InferenceSession.ValueMetadata;

/** A generator model that breaks the contract: an operator's fault, never retried. */
export function invalidModel(modelPath: string, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('GENERATOR_MODEL_INVALID', `generator model ${modelPath}: ${message}`, { modelPath, ...details, retryable: false });
}

const isDynamic = (d: number | string | undefined) => typeof d === 'string' || d === undefined || d < 0;
const describe = (shape: ReadonlyArray<number | string>) => `[${shape.join(', ')}]`;

/** Check the model's inputs and outputs against the contract; throws `GENERATOR_MODEL_INVALID`. */
export function readContract(modelPath: string, inputs: readonly Metadata[], outputs: readonly Metadata[]): GeneratorContract {
  const fail = (message: string, tensor: string) => invalidModel(modelPath, message, { tensor });
  const tensor = (list: readonly Metadata[], name: string, role: string) => {
    const m = list.find((x) => x.name === name);
    if (!m) return undefined;
    if (!m.isTensor || m.type !== 'float32') throw fail(`${role} "${name}" must be a float32 tensor`, name);
    return m;
  };

  const image = tensor(inputs, 'image', 'input');
  if (!image) throw fail(`has no input named "image" (inputs: ${inputs.map((i) => i.name).join(', ') || 'none'})`, 'image');
  const mask = tensor(inputs, 'mask', 'input');
  if (!mask) throw fail(`has no input named "mask" (inputs: ${inputs.map((i) => i.name).join(', ')})`, 'mask');
  checkNchw(image.shape, 3, 'image', fail);
  checkNchw(mask.shape, 1, 'mask', fail);
  const [imageH, imageW] = [image.shape[2], image.shape[3]];
  const [maskH, maskW] = [mask.shape[2], mask.shape[3]];
  const fixed = [imageH, imageW, maskH, maskW].map((d) => !isDynamic(d));
  if (fixed.some(Boolean) && !fixed.every(Boolean)) {
    throw fail(`"image" ${describe(image.shape)} and "mask" ${describe(mask.shape)} must both fix H and W, or leave both dynamic`, 'image');
  }
  if (fixed[0] && (imageH !== maskH || imageW !== maskW)) {
    throw fail(`"image" ${describe(image.shape)} and "mask" ${describe(mask.shape)} must have the same H and W`, 'mask');
  }

  const params: string[] = [];
  const paramShapes: Record<string, number[]> = {};
  for (const m of inputs) {
    if (m.name === 'image' || m.name === 'mask') continue;
    tensor(inputs, m.name, 'parameter input');
    const shape = (m as InferenceSession.TensorValueMetadata).shape;
    if (shape.length > 1 || (shape.length === 1 && shape[0] !== 1)) {
      throw fail(`parameter input "${m.name}" must be a float32 scalar of shape [] or [1], not ${describe(shape)}`, m.name);
    }
    params.push(m.name);
    paramShapes[m.name] = shape.length === 0 ? [] : [1];
  }

  const found = (['background', 'scene'] as const).filter((name) => tensor(outputs, name, 'output'));
  if (found.length !== 1) {
    throw fail(
      found.length === 0
        ? `has no output named "background" or "scene" (outputs: ${outputs.map((o) => o.name).join(', ') || 'none'})`
        : 'has both a "background" and a "scene" output; it must have exactly one',
      'output',
    );
  }
  const kind = found[0]!;
  const out = outputs.find((o) => o.name === kind) as InferenceSession.TensorValueMetadata;
  if (out.shape.length !== 4) throw fail(`output "${kind}" must have rank 4 [1, 3|4, H, W], not ${describe(out.shape)}`, kind);
  if (!isDynamic(out.shape[0]) && out.shape[0] !== 1)
    throw fail(`output "${kind}" must have batch size 1, not ${describe(out.shape)}`, kind);
  const c = out.shape[1];
  if (!isDynamic(c) && c !== 3 && c !== 4) throw fail(`output "${kind}" must have 3 or 4 channels, not ${describe(out.shape)}`, kind);

  return {
    kind,
    output: kind,
    params,
    paramShapes,
    ...(fixed[0] ? { size: { width: imageW as number, height: imageH as number } } : {}),
    ...(c === 3 || c === 4 ? { outputChannels: c } : {}),
  };
}

function checkNchw(shape: ReadonlyArray<number | string>, channels: number, name: string, fail: (m: string, t: string) => AppError): void {
  const expected = `[1, ${channels}, H, W]`;
  if (shape.length !== 4) throw fail(`input "${name}" must have rank 4 ${expected}, not ${describe(shape)}`, name);
  if (!isDynamic(shape[0]) && shape[0] !== 1)
    throw fail(`input "${name}" must have batch size 1: ${expected}, not ${describe(shape)}`, name);
  if (!isDynamic(shape[1]) && shape[1] !== channels)
    throw fail(`input "${name}" must have ${channels} channel(s): ${expected}, not ${describe(shape)}`, name);
  for (const d of [shape[2], shape[3]]) {
    if (!isDynamic(d) && (d as number) < 1) throw fail(`input "${name}" has an empty dimension: ${describe(shape)}`, name);
  }
}
