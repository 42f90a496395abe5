import type { BatchMeta, BatchStore, ItemResult, StoredItem } from './store.js';

/** Lines read per round trip while exporting. */
const CHUNK = 500;

/** One exported line. */
export interface ResultLine extends ItemResult {
  line: number;
  sku: string;
  state: string;
  /** For a line whose work another line owns (`<batchId>/<line>`); `state` and outputs are that line's. */
  duplicateOf?: string;
}

/**
 * Every line of a batch as JSON Lines, read in chunks (a 100,000-line export never sits in
 * memory). A duplicate line reports the state and outputs of the line that owns its work.
 */
export async function* exportResults(store: BatchStore, meta: BatchMeta): AsyncIterable<string> {
  for (let from = 1; from <= meta.lines; from += CHUNK) {
    const lines = Array.from({ length: Math.min(CHUNK, meta.lines - from + 1) }, (_, i) => String(from + i));
    const [items, states, results] = await Promise.all([
      store.redis.hmget(store.key(meta.id, 'items'), ...lines),
      store.redis.hmget(store.key(meta.id, 'state'), ...lines),
      store.redis.hmget(store.key(meta.id, 'result'), ...lines),
    ]);
    const rows: string[] = [];
    for (const [i, l] of lines.entries()) {
      if (!items[i]) continue; // an empty line of the file
      const item = JSON.parse(items[i]!) as StoredItem;
      const out: ResultLine = {
        line: Number(l),
        sku: item.sku ?? '',
        state: states[i] ?? 'waiting',
        ...(results[i] ? (JSON.parse(results[i]!) as ItemResult) : {}),
      };
      if (out.state === 'duplicate' && item.key) Object.assign(out, await ownerResult(store, meta.tenantId, item.key));
      rows.push(`${JSON.stringify(out)}\n`);
    }
    if (rows.length) yield rows.join('');
  }
}

async function ownerResult(store: BatchStore, tenantId: string, key: string): Promise<Partial<ResultLine>> {
  const owner = await store.redis.hget(store.owners(tenantId), key);
  if (!owner) return {};
  const [batchId, line] = owner.split('/') as [string, string];
  const { state, result } = await store.item(batchId, Number(line));
  return { ...result, duplicateOf: owner, ...(state ? { state } : {}) };
}
