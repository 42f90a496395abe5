import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';
import type { Attribute, Graph, ValueInfo } from './graph-builder.js';

const { onnx } = onnxProto;

/**
 * The ONNX versions we write. IR 8 is the newest the bundled `onnx-proto` (ONNX 1.10) describes;
 * opset 13 is the first where `Resize` accepts an empty `roi` and every op we emit has its final
 * semantics. ONNX Runtime reads both.
 */
export const IR_VERSION = 8;
export const OPSET = 13;

export interface ModelMetadata {
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** Free-form key/value pairs stored in the model (e.g. where the weights came from). */
  properties?: Record<string, string>;
}

/** Serialise a finished graph as an ONNX `ModelProto`. Same graph, same bytes. */
export function writeOnnx(graph: Graph, meta: ModelMetadata): Uint8Array {
  // Raw tensor data is written as the machine lays floats out; ONNX requires little-endian.
  if (endianness() !== 'LE') throw new Error('the ONNX writer needs a little-endian machine');
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: meta.producerName,
    producerVersion: meta.producerVersion,
    docString: meta.docString ?? '',
    metadataProps: Object.entries(meta.properties ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes).map(([name, a]) => attribute(name, a)),
      })),
      initializer: graph.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data.type === 'float' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(t.data.values.buffer, t.data.values.byteOffset, t.data.values.byteLength),
      })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function attribute(name: string, a: Attribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
