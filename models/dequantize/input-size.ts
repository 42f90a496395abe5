import type onnxProto from 'onnx-proto';
import { int64Tensor, int64Values } from './tensors.js';

type Model = onnxProto.onnx.IModelProto;

/**
 * The side a tensor of side `old` in a graph built for `from`² input has when the input is `to`²,
 * for graphs like ISNet's where every spatial size is the input halved k times (stride-2 conv with
 * padding 1, or 2×2 max-pool with `ceil_mode`), each halving rounding up.
 */
export function scaledSide(old: number, from: number, to: number): number {
  let k = 0;
  while (from >> k > old) k++;
  if (from >> k !== old || from % (1 << k) !== 0) throw new Error(`input size: ${old} is not ${from} halved a whole number of times`);
  let side = to;
  for (let i = 0; i < k; i++) side = Math.ceil(side / 2);
  return side;
}

/**
 * Rewrite a fixed-size square-input graph for another input side: the graph input's and outputs'
 * spatial dimensions, and the constant `sizes` of every `Resize` (ISNet's exporter froze each
 * "upsample like" target as a constant). Shape annotations of inner tensors are dropped; ONNX
 * Runtime infers them again. ISNet is fully convolutional, so the weights are unchanged; a smaller
 * input trades detail for time, which `bench/background-removal-small.ts` measures.
 */
export function setInputSide(model: Model, from: number, to: number): void {
  const graph = model.graph!;
  const side = (d: number) => scaledSide(d, from, to);
  const reshape = (v: onnxProto.onnx.IValueInfoProto) => {
    const dims = v.type!.tensorType!.shape!.dim!;
    for (const d of dims.slice(2)) d.dimValue = side(Number(d.dimValue));
  };
  for (const v of [...graph.input!, ...graph.output!]) reshape(v);
  graph.valueInfo = [];
  const inits = new Map(graph.initializer!.map((t, i) => [t.name!, i]));
  const done = new Set<string>();
  for (const node of graph.node!) {
    if (node.opType !== 'Resize') continue;
    const sizes = node.input![3];
    if (!sizes || node.input![2]) throw new Error(`input size: Resize ${node.name} does not use constant sizes`);
    const at = inits.get(sizes);
    if (at === undefined) throw new Error(`input size: Resize ${node.name}'s sizes are not a constant`);
    if (done.has(sizes)) continue;
    done.add(sizes);
    const [n, c, h, w] = int64Values(graph.initializer![at]!);
    graph.initializer![at] = int64Tensor(sizes, [n!, c!, side(h!), side(w!)]);
  }
}
