import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
type Tensor = onnxProto.onnx.ITensorProto;

// Raw tensor data is little-endian by the ONNX spec; typed arrays read and write the machine's order.
if (endianness() !== 'LE') throw new Error('the ONNX rewriting code needs a little-endian machine');

/** A raw-data view as a typed array (copied when the protobuf buffer is not aligned for it). */
function rawView<A extends Float32Array | BigInt64Array>(
  raw: Uint8Array,
  Kind: { new (b: ArrayBuffer, o: number, n: number): A; BYTES_PER_ELEMENT: number },
): A {
  // `new Uint8Array(raw)` copies; `raw.slice()` would not on a Node Buffer (protobufjs decodes to those).
  const bytes = raw.byteOffset % Kind.BYTES_PER_ELEMENT === 0 ? raw : new Uint8Array(raw);
  return new Kind(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / Kind.BYTES_PER_ELEMENT);
}

/** The values of a FLOAT initializer, from `raw_data` or `float_data`. */
export function floatValues(t: Tensor): Float32Array {
  if (t.dataType !== T.FLOAT) throw new Error(`${t.name} is not float (data type ${t.dataType})`);
  return t.rawData?.length ? rawView(t.rawData, Float32Array) : Float32Array.from(t.floatData ?? []);
}

/** The values of an 8-bit integer initializer (UINT8 or INT8), from `raw_data` or `int32_data`. */
export function intValues(t: Tensor): Int32Array {
  if (t.dataType === T.UINT8) return t.rawData?.length ? Int32Array.from(t.rawData) : Int32Array.from(t.int32Data ?? []);
  if (t.dataType === T.INT8)
    return t.rawData?.length
      ? Int32Array.from(new Int8Array(t.rawData.buffer, t.rawData.byteOffset, t.rawData.length))
      : Int32Array.from(t.int32Data ?? []);
  throw new Error(`${t.name} is not an 8-bit integer tensor (data type ${t.dataType})`);
}

/** The values of an INT64 initializer as numbers. */
export function int64Values(t: Tensor): number[] {
  if (t.dataType !== T.INT64) throw new Error(`${t.name} is not int64 (data type ${t.dataType})`);
  return t.rawData?.length ? Array.from(rawView(t.rawData, BigInt64Array), Number) : (t.int64Data ?? []).map(Number);
}

export function floatTensor(name: string, dims: number[], values: Float32Array): Tensor {
  return { name, dims, dataType: T.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function int64Tensor(name: string, values: number[]): Tensor {
  const data = BigInt64Array.from(values, BigInt);
  return { name, dims: [values.length], dataType: T.INT64, rawData: new Uint8Array(data.buffer) };
}
