import onnxProto from 'onnx-proto';
import { dequantizeConvInteger } from './dequantize-conv.js';
import { setInputSide } from './input-size.js';
import { pruneGraph } from './prune.js';
import { widenHalfFloats } from './widen-half.js';

const { onnx } = onnxProto;

export interface FloatVariantOptions {
  /** The graph outputs to keep (the rest, and all work only they need, is removed). */
  outputs: string[];
  /** Square input side the graph is built for, and the side to rebuild it for (unchanged when equal). */
  inputSide?: { from: number; to: number };
  /** Written into the model's metadata: where the weights came from. */
  source: string;
}

/**
 * A float32 model from a dynamically quantised one: same weights (dequantised), unused outputs
 * pruned, optionally another input size. Deterministic: the same bytes in give the same bytes out,
 * so the result can be pinned by sha256.
 */
export function floatVariant(quantised: Uint8Array, options: FloatVariantOptions): Uint8Array {
  const model = onnx.ModelProto.decode(quantised);
  const rewritten = dequantizeConvInteger(model);
  if (rewritten === 0) throw new Error('dequantize: the model has no ConvInteger nodes');
  pruneGraph(model, options.outputs);
  const left = model.graph!.node!.filter((n) => /Integer|QuantizeLinear/.test(n.opType!));
  if (left.length) throw new Error(`dequantize: ${left.length} quantised nodes are left (${left[0]!.opType})`);
  if (options.inputSide && options.inputSide.from !== options.inputSide.to)
    setInputSide(model, options.inputSide.from, options.inputSide.to);
  return finish(
    model,
    options.source,
    `ConvInteger→Conv float32 (${rewritten}), outputs ${options.outputs.join(',')}, input ${options.inputSide?.to ?? 'unchanged'}`,
  );
}

/**
 * A float32 model from an fp16 one: same weights (widened exactly), unused outputs pruned.
 * Deterministic, like {@link floatVariant}, so the result can be pinned by sha256.
 */
export function widenedVariant(half: Uint8Array, options: Pick<FloatVariantOptions, 'outputs' | 'source'>): Uint8Array {
  const model = onnx.ModelProto.decode(half);
  const widened = widenHalfFloats(model);
  if (widened === 0) throw new Error('widen: the model has no float16 tensors');
  pruneGraph(model, options.outputs);
  return finish(model, options.source, `float16→float32 (${widened} tensors), outputs ${options.outputs.join(',')}`);
}

/** Stamp a rewritten model with what made it and from what, and encode it. */
function finish(model: onnxProto.onnx.ModelProto, source: string, conversion: string): Uint8Array {
  model.producerName = 'product-image-pipeline models/dequantize';
  model.producerVersion = '1';
  model.metadataProps = [
    { key: 'source', value: source },
    { key: 'conversion', value: conversion },
  ];
  return onnx.ModelProto.encode(model).finish();
}
