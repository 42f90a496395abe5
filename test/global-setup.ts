import { assertRedisReachable } from '../lib/redis.js';

/**
 * The suite talks to a real Redis. Fail once, up front, with the fix named, rather than with a
 * hundred timeouts. `.ci/run` starts Redis when it is not running.
 */
export default async function setup(): Promise<void> {
  await assertRedisReachable(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
}
