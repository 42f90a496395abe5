/**
 * ncnn's text graph format (`.param`): a magic line `7767517`, a line `<layer count> <blob count>`,
 * then one line per layer:
 *
 *     <type> <name> <input count> <output count> <input blobs…> <output blobs…> <k=v…>
 *
 * A param is `k=v` with an integer key and an int or float value (a float when it has a `.` or an
 * exponent, as ncnn's own reader decides), or an array `-233xx=n,v1,…,vn` whose real key is
 * `-k - 23300` (so `-23310=1,0.2` is param 10 holding [0.2]).
 */

/** One layer as the param file declares it. */
export interface NcnnLayer {
  type: string;
  name: string;
  inputs: string[];
  outputs: string[];
  params: Map<number, number | number[]>;
}

export interface NcnnGraph {
  layers: NcnnLayer[];
}

const MAGIC = '7767517';

export function readParam(text: string): NcnnGraph {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines[0] !== MAGIC) throw new Error(`not an ncnn param file: the first line is "${lines[0]?.slice(0, 20) ?? ''}", expected ${MAGIC}`);
  const counts = (lines[1] ?? '').split(/\s+/).map(Number);
  if (counts.length !== 2 || !counts.every(Number.isInteger))
    throw new Error(`ncnn param: the second line must be "<layer count> <blob count>", got "${lines[1]}"`);
  const layers = lines.slice(2).map((line, i) => readLayer(line, i + 3));
  if (layers.length !== counts[0]) throw new Error(`ncnn param declares ${counts[0]} layers and holds ${layers.length}`);
  return { layers };
}

function readLayer(line: string, lineNo: number): NcnnLayer {
  const f = line.split(/\s+/);
  const [type, name] = [f[0]!, f[1]];
  const nIn = Number(f[2]);
  const nOut = Number(f[3]);
  if (!name || !Number.isInteger(nIn) || !Number.isInteger(nOut) || f.length < 4 + nIn + nOut) {
    throw new Error(`ncnn param line ${lineNo}: malformed layer line "${line.slice(0, 80)}"`);
  }
  const inputs = f.slice(4, 4 + nIn);
  const outputs = f.slice(4 + nIn, 4 + nIn + nOut);
  const params = new Map<number, number | number[]>();
  for (const kv of f.slice(4 + nIn + nOut)) {
    const m = /^(-?\d+)=(.+)$/.exec(kv);
    if (!m) throw new Error(`ncnn param line ${lineNo} (${type} ${name}): bad param "${kv}"`);
    const key = Number(m[1]);
    if (key <= -23300) {
      const [n, ...values] = m[2]!.split(',').map((v) => number(v, lineNo, name));
      if (values.length !== n)
        throw new Error(`ncnn param line ${lineNo} (${type} ${name}): array param ${kv} declares ${n} values and holds ${values.length}`);
      params.set(-key - 23300, values);
    } else {
      params.set(key, number(m[2]!, lineNo, name));
    }
  }
  return { type, name, inputs, outputs, params };
}

function number(text: string, lineNo: number, layer: string): number {
  const v = Number(text);
  if (!Number.isFinite(v)) throw new Error(`ncnn param line ${lineNo} (${layer}): "${text}" is not a number`);
  return v;
}

/** Typed access to one layer's params, with ncnn's defaults. */
export function paramsOf(layer: NcnnLayer) {
  const where = `${layer.type} layer ${layer.name}`;
  return {
    int(key: number, fallback: number): number {
      const v = layer.params.get(key) ?? fallback;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${where}: param ${key} must be an integer, got ${String(v)}`);
      return v;
    },
    float(key: number, fallback: number): number {
      const v = layer.params.get(key) ?? fallback;
      if (typeof v !== 'number') throw new Error(`${where}: param ${key} must be a number, got an array`);
      return v;
    },
    array(key: number): number[] {
      const v = layer.params.get(key) ?? [];
      if (!Array.isArray(v)) throw new Error(`${where}: param ${key} must be an array`);
      return v;
    },
  };
}
