import type { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import type { Logger } from '../../lib/logger.js';
import type { RedisConnection } from '../../lib/redis.js';

/** How long one read of the event streams blocks before it is made again. */
const BLOCK_MS = 5000;
/** After a failed read (Redis restarting), wait this long before the next. */
const RETRY_MS = 1000;
/** BullMQ's events that mean a job arrived (`waiting`, prioritised ones included) or started. */
const WAKING_EVENTS = new Set(['waiting', 'active']);

/**
 * Calls `onActivity` when a job is added to or starts on one of `queues`, read from their BullMQ
 * event streams with one blocking XREAD on a connection of its own: no command at all while the
 * queues are quiet (one every {@link BLOCK_MS}), where polling their counts cost three commands
 * every 20 ms. An event missed between two reads, or while Redis restarts, is not replayed: the
 * caller keeps a slow poll as a safety net.
 */
export function watchQueueActivity(opts: { redis: RedisConnection; queues: Queue[]; onActivity: () => void; logger: Logger }): {
  stop(): void;
} {
  const keys = opts.queues.map((q) => q.keys.events!);
  // '$': only what is added from now on; then each stream's last id seen, so nothing in between is lost.
  const lastIds = keys.map(() => '$');
  // The same call on both sides: the union of their two `duplicate` signatures is not callable.
  const connection: RedisConnection = opts.redis instanceof Cluster ? opts.redis.duplicate() : opts.redis.duplicate();
  // Stopping closes the connection under a blocked read: that error is expected, not news.
  connection.on('error', () => undefined);
  let stopped = false;
  let failing = false;
  const read = async () => {
    while (!stopped) {
      try {
        const reply = (await connection.xread('BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...lastIds)) as StreamReply | null;
        if (stopped) return;
        let woken = false;
        for (const [key, entries] of reply ?? []) {
          const i = keys.indexOf(key);
          for (const [id, fields] of entries) {
            if (i >= 0) lastIds[i] = id;
            woken ||= WAKING_EVENTS.has(eventName(fields));
          }
        }
        failing = false;
        if (woken) opts.onActivity();
      } catch (err) {
        if (stopped) return;
        // Once per outage, not once per retry.
        if (!failing)
          opts.logger.warn({ err }, 'interactive queue events could not be read; the catalog yield check falls back to its slow poll');
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      }
    }
  };
  void read();
  return {
    stop() {
      stopped = true;
      connection.disconnect();
    },
  };
}

/** XREAD's reply: per stream, its entries as [id, [field, value, field, value, …]]. */
type StreamReply = Array<[key: string, entries: Array<[id: string, fields: string[]]>]>;

function eventName(fields: string[]): string {
  const at = fields.indexOf('event');
  return at >= 0 && at % 2 === 0 ? (fields[at + 1] ?? '') : '';
}
