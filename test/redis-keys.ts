import { Redis } from 'ioredis';

/** The Redis the tests and benchmarks use (REDIS_URL, else the local default). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every Redis key matching a pattern, counted. */
export async function countKeys(pattern: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    let count = 0;
    for await (const keys of redis.scanStream({ match: pattern, count: 500 })) count += (keys as string[]).length;
    return count;
  } finally {
    redis.disconnect();
  }
}

/** Delete every Redis key matching a pattern. */
export async function deleteKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for await (const keys of redis.scanStream({ match: pattern, count: 500 })) {
      if ((keys as string[]).length) await redis.unlink(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}
