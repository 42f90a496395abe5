import onnxProto from 'onnx-proto';
import { halvesToFloats } from '../half-float.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
type Model = onnxProto.onnx.IModelProto;
type Tensor = onnxProto.onnx.ITensorProto;

/** A FLOAT16 tensor (from `raw_data`, or `int32_data` holding one half per entry) rewritten as FLOAT. */
function widenTensor(t: Tensor): void {
  const count = (t.dims ?? []).reduce((n: number, d) => n * Number(d), 1);
  const halves = t.rawData?.length
    ? new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.length)
    : new DataView(Uint16Array.from(t.int32Data ?? []).buffer);
  const values = halvesToFloats(halves, count);
  t.dataType = T.FLOAT;
  t.int32Data = [];
  t.rawData = new Uint8Array(values.buffer);
}

/**
 * Make an fp16 graph float32 throughout: FLOAT16 initializers and constants widened (exactly:
 * every half is a float), casts to FLOAT16 retargeted to FLOAT (ONNX Runtime then drops them as
 * no-ops), and every declared FLOAT16 type made FLOAT. Returns how many tensors were widened.
 *
 * Why: ONNX Runtime's CPU kernels compute in float32, so an fp16 graph runs with a cast around
 * every fp16 value it cannot keep; the float32 graph does the same arithmetic on the same weights
 * without them.
 */
export function widenHalfFloats(model: Model): number {
  const graph = model.graph!;
  let widened = 0;
  for (const t of graph.initializer ?? []) {
    if (t.dataType !== T.FLOAT16) continue;
    widenTensor(t);
    widened++;
  }
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (node.opType === 'Cast' && a.name === 'to' && Number(a.i) === T.FLOAT16) a.i = T.FLOAT;
      if (a.t?.dataType === T.FLOAT16) {
        widenTensor(a.t);
        widened++;
      }
    }
  }
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const tensorType = v.type?.tensorType;
    if (tensorType?.elemType === T.FLOAT16) tensorType.elemType = T.FLOAT;
  }
  return widened;
}
