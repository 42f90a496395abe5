import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const A = onnx.AttributeProto.AttributeType;

/** Small builders for the test graphs of this folder, as plain objects onnx-proto encodes. */
export const node = (opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []) => ({
  name: output[0],
  opType,
  input,
  output,
  attribute,
});
export const ints = (name: string, v: number[]) => ({ name, type: A.INTS, ints: v });
export const int = (name: string, v: number) => ({ name, type: A.INT, i: v });
export const str = (name: string, v: string) => ({ name, type: A.STRING, s: new TextEncoder().encode(v) });
/** A graph input, output or value info of `elemType` (FLOAT unless told) and fixed `dims`. */
export const tensorInfo = (name: string, dims: number[], elemType: number = onnx.TensorProto.DataType.FLOAT) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});
