/**
 * A small, format-neutral ONNX graph under construction. Layers append nodes and initialisers
 * here; `write-onnx.ts` turns the finished graph into protobuf bytes. Everything is kept in
 * insertion order and names are derived from Keras layer names, so the same model always gives
 * the same bytes (the model specs pin the sha256 of the result).
 */

/** An ONNX attribute value, tagged because JS numbers cannot tell 1 (int) from 1.0 (float). */
export type Attribute =
  { type: 'int'; value: number } | { type: 'ints'; value: number[] } | { type: 'float'; value: number } | { type: 'string'; value: string };

export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
};

export interface GraphNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

export interface Initializer {
  name: string;
  dims: number[];
  data: { type: 'float'; values: Float32Array } | { type: 'int64'; values: BigInt64Array };
}

/** A graph input or output: static sizes as numbers, dynamic ones as symbolic names. */
export interface ValueInfo {
  name: string;
  dims: Array<number | string>;
}

export interface Graph {
  name: string;
  nodes: GraphNode[];
  initializers: Initializer[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers: Initializer[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();
  private readonly reserved = new Set<string>();
  private readonly sharedConstants = new Map<string, string>();

  constructor(readonly name: string) {}

  /** A fresh name based on `hint` (the hint itself when it is still free). */
  unique(hint: string): string {
    let name = hint;
    for (let i = 1; this.used.has(name) || this.reserved.has(name); i++) name = `${hint}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Append a single-output node and return its output's name. */
  node(opType: string, inputs: string[], hint: string, attributes: Record<string, Attribute> = {}): string {
    const output = this.unique(hint);
    this.nodes.push({ name: output, opType, inputs, outputs: [output], attributes });
    return output;
  }

  /** A float32 initializer. */
  floatTensor(hint: string, dims: number[], values: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Error(`initializer ${hint}: ${values.length} values for dims [${dims.join(', ')}]`);
    const name = this.unique(hint);
    this.initializers.push({ name, dims, data: { type: 'float', values } });
    return name;
  }

  /** An int64 initializer (shapes, axes). */
  int64Tensor(hint: string, values: number[]): string {
    const name = this.unique(hint);
    this.initializers.push({ name, dims: [values.length], data: { type: 'int64', values: BigInt64Array.from(values.map(BigInt)) } });
    return name;
  }

  /**
   * A float32 scalar shared by every node that needs the same value (e.g. the 40 `MultiplyBeta`
   * layers of ESRGAN-thick all read one 0.2).
   */
  floatScalar(value: number): string {
    const key = `f:${Math.fround(value)}`;
    let name = this.sharedConstants.get(key);
    if (!name) {
      name = this.floatTensor(`const_${String(Math.fround(value)).replace(/[^0-9a-z]/gi, '_')}`, [], Float32Array.of(value));
      this.sharedConstants.set(key, name);
    }
    return name;
  }

  addInput(name: string, dims: Array<number | string>): string {
    if (this.used.has(name)) throw new Error(`graph input name ${name} is already taken`);
    this.used.add(name);
    this.inputs.push({ name, dims });
    return name;
  }

  addOutput(name: string, dims: Array<number | string>): void {
    this.outputs.push({ name, dims });
  }

  /** Keep `name` free for a later `rename` (graph outputs keep their Keras names). */
  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`cannot reserve ${name}: the name is taken`);
    this.reserved.add(name);
  }

  /** Give the tensor produced as `from` the reserved name `to`. */
  rename(from: string, to: string): void {
    if (!this.reserved.has(to) || this.used.has(to)) throw new Error(`cannot rename ${from} to ${to}: the name was not reserved`);
    this.used.add(to);
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
      if (n.name === from) n.name = to;
    }
  }

  build(): Graph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}
