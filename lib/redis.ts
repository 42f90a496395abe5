import { Redis } from 'ioredis';

/**
 * A Redis connection for BullMQ and our own records. `maxRetriesPerRequest: null` is what BullMQ
 * workers require; commands wait for a reconnect instead of failing mid-job.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
}

/**
 * Fail fast at boot with one line that names the fix, instead of retrying forever in silence.
 */
export async function assertRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  // The socket error (ECONNREFUSED, ENOTFOUND…) says more than the "Connection is closed" that follows it.
  let socketError: Error | undefined;
  probe.on('error', (err: Error) => (socketError ??= err));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const cause = socketError ?? err;
    const reason = cause instanceof Error ? (cause as NodeJS.ErrnoException).code ?? cause.message : String(cause);
    throw new Error(`Cannot reach Redis at ${redact(url)} (${reason}). Start Redis (e.g. \`redis-server\`) or set REDIS_URL to a reachable server.`);
  } finally {
    probe.disconnect();
  }
}

/** Never print a password that came in the URL. */
export const redact = (url: string) => url.replace(/\/\/([^@/]*)@/, '//***@');
