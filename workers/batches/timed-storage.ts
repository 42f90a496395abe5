import type { Readable } from 'node:stream';
import type { ObjectStorage, PutOptions } from '../../cdn/storage.js';

/** Wall time a piece of work spent in storage calls; overlapping calls of one kind count once. */
export interface StorageTimings {
  readMs: number;
  writeMs: number;
  listMs: number;
}

/** Wall time during which at least one call was in flight. */
class BusyClock {
  private active = 0;
  private since = 0;
  total = 0;
  async time<T>(call: () => Promise<T>): Promise<T> {
    if (this.active++ === 0) this.since = performance.now();
    try {
      return await call();
    } finally {
      if (--this.active === 0) this.total += performance.now() - this.since;
    }
  }
}

async function* timedList(clock: BusyClock, keys: AsyncIterable<string>): AsyncGenerator<string> {
  const it = keys[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await clock.time(() => it.next());
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

export interface TimedStorage {
  storage: ObjectStorage;
  timings(): StorageTimings;
}

/**
 * A storage that times its calls, for the catalog lane's per-item breakdown (where an item's time
 * goes: reads, writes, listings).
 */
export function timedStorage(inner: ObjectStorage): TimedStorage {
  const read = new BusyClock();
  const write = new BusyClock();
  const list = new BusyClock();
  const storage: ObjectStorage = {
    name: inner.name,
    put: (key: string, body: Buffer | Readable, options: PutOptions) => write.time(() => inner.put(key, body, options)),
    copy: (from: string, to: string, options?: PutOptions) => write.time(() => inner.copy(from, to, options)),
    get: (key: string) => read.time(() => inner.get(key)),
    getStream: (key) => read.time(() => inner.getStream(key)),
    head: (key) => read.time(() => inner.head(key)),
    delete: (key) => write.time(() => inner.delete(key)),
    list: (prefix) => timedList(list, inner.list(prefix)),
    ping: () => inner.ping(),
  };
  const ms = (x: number) => Math.round(x * 10) / 10;
  return { storage, timings: () => ({ readMs: ms(read.total), writeMs: ms(write.total), listMs: ms(list.total) }) };
}
