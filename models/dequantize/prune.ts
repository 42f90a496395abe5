import type onnxProto from 'onnx-proto';

type Model = onnxProto.onnx.IModelProto;

/**
 * Keep only the graph outputs named in `keep`, then drop every node, initializer and value info
 * that no kept output depends on. ONNX Runtime computes every graph output of a session whatever
 * `run` fetches; ISNet's five coarser side outputs and six feature maps (each side output a
 * full-size resize and sigmoid) are work the product never reads.
 */
export function pruneGraph(model: Model, keep: string[]): void {
  const graph = model.graph!;
  const outputs = graph.output!.filter((o) => keep.includes(o.name!));
  if (outputs.length !== keep.length)
    throw new Error(`prune: the graph has no output ${keep.filter((k) => !outputs.some((o) => o.name === k)).join(', ')}`);
  graph.output = outputs;
  // Walk back from the kept outputs through each value's producer. The node list need not be in
  // topological order (the published fp16 ISNet lists its input and output casts last).
  const producer = new Map<string, onnxProto.onnx.INodeProto>();
  for (const node of graph.node!) for (const o of node.output!) producer.set(o, node);
  const needed = new Set<string>();
  const keptNodes = new Set<onnxProto.onnx.INodeProto>();
  const pending = [...keep];
  while (pending.length) {
    const name = pending.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    const node = producer.get(name);
    if (!node || keptNodes.has(node)) continue;
    keptNodes.add(node);
    for (const i of node.input!) if (i) pending.push(i);
  }
  graph.node = graph.node!.filter((n) => keptNodes.has(n));
  graph.initializer = graph.initializer!.filter((t) => needed.has(t.name!));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name!));
  // Only the operator sets the remaining nodes use (quantisation left several contrib domains).
  const domains = new Set(graph.node.map((n) => n.domain ?? ''));
  model.opsetImport = model.opsetImport!.filter((o) => domains.has(o.domain ?? '') || !o.domain);
}
