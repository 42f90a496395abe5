import onnxProto from 'onnx-proto';
import { floatValues, floatTensor, intValues } from './tensors.js';

type Model = onnxProto.onnx.IModelProto;
type Node = onnxProto.onnx.INodeProto;

/**
 * Turn a dynamically quantised graph (onnxruntime's `quantize_dynamic`, `ConvInteger` format) back
 * into float32 convolutions on the same weights. Each quantised convolution is the chain
 *
 *   DynamicQuantizeLinear(x) → x_q, x_scale, x_zp
 *   ConvInteger(x_q, W_q, x_zp, W_zp) → Cast(float) → Mul(·, x_scale·W_scale) → Add(·, Reshape(B))
 *
 * and becomes `Conv(x, (W_q − W_zp)·W_scale, B)` with the attributes of the `ConvInteger` and the
 * name of the chain's last output, so everything downstream is untouched. The weights are the
 * quantised ones, dequantised exactly as ONNX Runtime would; only the activations stop being
 * rounded to 8 bits. Why: on CPU, ONNX Runtime runs `ConvInteger` through im2col and a u8×u8 GEMM
 * with no blocked (NCHWc) layout, plus a quantise pass, a cast, two multiplies and an add over
 * every activation; the float `Conv` gets the blocked kernels with bias and ReLU fused.
 *
 * The nodes left without consumers (the quantise steps, the bias reshapes) are removed by
 * `pruneGraph`, which the caller runs next. Returns how many convolutions were rewritten.
 */
export function dequantizeConvInteger(model: Model): number {
  const graph = model.graph!;
  const nodes = graph.node!;
  const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const o of n.output!) producer.set(o, n);
    for (const i of n.input!) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const only = (tensor: string, opType: string): Node => {
    const next = consumers.get(tensor) ?? [];
    if (next.length !== 1 || next[0]!.opType !== opType) {
      throw new Error(
        `dequantize: ${tensor} should feed exactly one ${opType}, feeds ${next.map((n) => n.opType).join(', ') || 'nothing'}`,
      );
    }
    return next[0]!;
  };
  const initializer = (name: string) => {
    const t = inits.get(name);
    if (!t) throw new Error(`dequantize: ${name} is not an initializer`);
    return t;
  };

  const added: Array<{ at: Node; conv: Node }> = [];
  for (const conv of nodes.filter((n) => n.opType === 'ConvInteger')) {
    const [xq, wq, , wzp] = conv.input!;
    const dql = producer.get(xq!);
    if (dql?.opType !== 'DynamicQuantizeLinear') throw new Error(`dequantize: ${conv.name} does not take a DynamicQuantizeLinear output`);
    const cast = only(conv.output![0]!, 'Cast');
    const scaled = only(cast.output![0]!, 'Mul');
    const scalesName = scaled.input!.find((i) => i !== cast.output![0])!;
    const scales = producer.get(scalesName);
    const wScaleName = scales?.opType === 'Mul' ? scales.input!.find((i) => i !== dql.output![1]) : undefined;
    if (!wScaleName) throw new Error(`dequantize: ${conv.name}'s scale is not x_scale·W_scale`);

    const W = initializer(wq!);
    const q = intValues(W);
    const zp = wzp ? intValues(initializer(wzp)) : [0];
    const scale = floatValues(initializer(wScaleName));
    const outChannels = Number(W.dims![0]);
    const perChannel = q.length / outChannels;
    if (scale.length !== 1 && scale.length !== outChannels) throw new Error(`dequantize: ${wScaleName} has ${scale.length} scales`);
    if (zp.length !== 1 && zp.length !== outChannels) throw new Error(`dequantize: ${wzp} has ${zp.length} zero points`);
    const w = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) {
      const c = (i / perChannel) | 0;
      w[i] = (q[i]! - zp[zp.length === 1 ? 0 : c]!) * scale[scale.length === 1 ? 0 : c]!;
    }

    // The bias, when there is one: an Add of Reshape(B, [1, C, 1, 1]) right after the scaling.
    let output = scaled.output![0]!;
    let bias: string | undefined;
    const next = consumers.get(output) ?? [];
    if (next.length === 1 && next[0]!.opType === 'Add') {
      const other = next[0]!.input!.find((i) => i !== output)!;
      const reshape = producer.get(other);
      const b = reshape?.opType === 'Reshape' ? inits.get(reshape.input![0]!) : inits.get(other);
      if (b && floatValues(b).length === outChannels) {
        bias = `${b.name}_dequantized`;
        graph.initializer!.push(floatTensor(bias, [outChannels], floatValues(b)));
        output = next[0]!.output![0]!;
        next[0]!.output = [`${output}_replaced`];
      }
    }
    const weights = `${wq}_dequantized`;
    graph.initializer!.push(floatTensor(weights, W.dims!.map(Number), w));
    scaled.output = [`${scaled.output![0]}_replaced`];
    added.push({
      at: conv,
      conv: {
        name: `${conv.name ?? wq}_float`,
        opType: 'Conv',
        domain: '',
        input: [dql.input![0]!, weights, ...(bias ? [bias] : [])],
        output: [output],
        attribute: conv.attribute!,
      },
    });
  }
  // Each Conv goes where its ConvInteger was: the node list stays in topological order.
  for (const { at, conv } of added) nodes.splice(nodes.indexOf(at), 1, conv);
  return added.length;
}
