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
  const needed = new Set(keep);
  const kept: typeof graph.node = [];
  // Nodes are in topological order: walking back from the end sees every consumer before its producers.
  for (const node of [...graph.node!].reverse()) {
    if (!node.output!.some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const i of node.input!) if (i) needed.add(i);
  }
  graph.node = kept.reverse();
  graph.initializer = graph.initializer!.filter((t) => needed.has(t.name!));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name!));
  // Only the operator sets the remaining nodes use (quantisation left several contrib domains).
  const domains = new Set(graph.node.map((n) => n.domain ?? ''));
  model.opsetImport = model.opsetImport!.filter((o) => domains.has(o.domain ?? '') || !o.domain);
}
