import type { RedisConnection } from '../lib/redis.js';
import { z } from 'zod';

/** One run's purge request, waiting in the outbox for the next batch. */
export const purgeRequestSchema = z.object({
  tenantId: z.string().min(1),
  assetId: z.string().min(1),
  /** The run whose publish asked for it; absent for a takedown, which belongs to no run. */
  runId: z.string().min(1).optional(),
  keys: z.array(z.string()),
  urls: z.array(z.string()),
});
export type PurgeRequestEntry = z.output<typeof purgeRequestSchema>;

/**
 * Pending CDN purges, in a Redis list. Publish appends after its writes; one purge job takes
 * everything waiting, merges it into a single de-duplicated request and sends it, so a burst of
 * re-renders costs the CDN a few requests, not one per run.
 */
export class PurgeOutbox {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private get key() {
    return `${this.prefix}:purge-outbox`;
  }

  async push(entry: PurgeRequestEntry): Promise<void> {
    await this.redis.rpush(this.key, JSON.stringify(entry));
  }

  /** Atomically remove and return up to `max` waiting requests, oldest first. */
  async take(max: number): Promise<PurgeRequestEntry[]> {
    const result = await this.redis
      .multi()
      .lrange(this.key, 0, max - 1)
      .ltrim(this.key, max, -1)
      .exec();
    const raw = (result?.[0]?.[1] ?? []) as string[];
    return raw.map((r) => purgeRequestSchema.parse(JSON.parse(r)));
  }

  /** Put requests back at the front after a failed send, so the retry takes them again. */
  async putBack(entries: PurgeRequestEntry[]): Promise<void> {
    if (entries.length) await this.redis.lpush(this.key, ...entries.map((e) => JSON.stringify(e)).reverse());
  }

  async size(): Promise<number> {
    return this.redis.llen(this.key);
  }
}
