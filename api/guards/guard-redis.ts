import { duplicateRedis, type RedisConnection } from '../../lib/redis.js';
import { AppError } from '../../lib/errors.js';
import { withTimeout } from '../../lib/deadline.js';

/** How long a guard may wait on Redis before it calls Redis down. */
export const GUARD_TIMEOUT_MS = 1000;

/**
 * A second Redis connection for the request guards (rate limits, backpressure, idempotency).
 * The shared connection has `maxRetriesPerRequest: null` (BullMQ needs it), so while Redis is down
 * its commands queue and wait forever; a guard must instead fail at once, so this connection has
 * no offline queue and a command timeout.
 */
export function createGuardRedis(shared: RedisConnection): RedisConnection {
  const redis = duplicateRedis(shared, {
    connectionName: 'api-guards',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: GUARD_TIMEOUT_MS,
  });
  // Outages are reported per request (503) and by /readyz; an unhandled 'error' event would only
  // print "[ioredis] Unhandled error event" on every reconnect attempt.
  redis.on('error', () => undefined);
  return redis;
}

/** A Redis call raced against a timer, so no guard can hang a request. */
export const withinGuardTimeout = <T>(work: Promise<T>, ms = GUARD_TIMEOUT_MS): Promise<T> =>
  withTimeout(work, ms, () => new Error(`Redis gave no answer within ${ms} ms`));

/** Seconds a client should wait before retrying when we refuse work (503). */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** The 503 for "Redis cannot be reached right now". */
export const redisUnavailable = () =>
  new AppError('SERVICE_UNAVAILABLE', 'The queue store is unreachable; nothing was accepted. Retry later.', {
    retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_S,
  });
