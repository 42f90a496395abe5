import { Cluster, Redis, type ChainableCommander, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * Where Redis is: one server at `url`, or a Redis Cluster reached through `clusterNodes` (seed
 * `host:port`s; the rest are discovered). With a cluster, `url` gives only the credentials and TLS
 * (`rediss:`) that every node shares.
 */
export interface RedisTarget {
  url: string;
  clusterNodes?: string[];
}

/** One server or a cluster: BullMQ and our stores use only the commands both have. */
export type RedisConnection = Redis | Cluster;

/**
 * A whole prefix in one hash slot: `{tag}` first, as BullMQ documents for Redis Cluster. Every key
 * of ours and BullMQ's starts with the prefix, so each MULTI, Lua script and multi-key command
 * (BullMQ's included, flows across queues too) touches one slot, whatever the key names after it.
 */
export const HASH_TAGGED_PREFIX = /^\{[A-Za-z0-9_.-]+\}/;

/**
 * How long one command rides out a failover (dead master → replica promoted, about
 * cluster-node-timeout plus an election) before it fails: retries every `RETRY_MS`, this many times.
 */
const FAILOVER_RETRIES = 120;
const FAILOVER_RETRY_MS = 250;

const seeds = (nodes: string[]) =>
  nodes.map((n) => {
    const at = n.lastIndexOf(':');
    return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
  });

/** The credentials and TLS in a redis:// or rediss:// URL, for every node of a cluster. */
function sharedNodeOptions(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

const asTarget = (target: string | RedisTarget): RedisTarget => (typeof target === 'string' ? { url: target } : target);

function clusterOptions(target: RedisTarget, nodeOptions: RedisOptions, cluster: ClusterOptions = {}): ClusterOptions {
  return {
    redisOptions: { ...sharedNodeOptions(target.url), ...nodeOptions },
    maxRedirections: FAILOVER_RETRIES,
    retryDelayOnFailover: FAILOVER_RETRY_MS,
    retryDelayOnClusterDown: FAILOVER_RETRY_MS,
    retryDelayOnTryAgain: FAILOVER_RETRY_MS,
    ...cluster,
  };
}

/**
 * A Redis connection for BullMQ and our own records. `maxRetriesPerRequest: null` is what BullMQ
 * workers require; commands wait for a reconnect (or, on a cluster, a failover) instead of
 * failing mid-job.
 */
export function createRedis(target: string | RedisTarget, name: string): RedisConnection {
  const t = asTarget(target);
  if (!t.clusterNodes?.length) return new Redis(t.url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
  return endingCluster(new Cluster(seeds(t.clusterNodes), clusterOptions(t, { maxRetriesPerRequest: null, connectionName: name })));
}

/**
 * A cluster connection whose `disconnect()` always ends in `end`, and whose duplicates (BullMQ's
 * blocking connections) do too. ioredis emits `end` only after a `close` that finds its close
 * handler armed; a cluster that lost every node in a failover could stay at `close`, and BullMQ
 * waits for `end` to stop a worker. Shutdown after a failover can still hang in another way (a
 * publish worker's blocking connection reconnects while it closes; RELIABILITY.md, known issues).
 */
function endingCluster(cluster: Cluster): Cluster {
  const setStatus = (status: string) => (cluster as unknown as { setStatus(s: string): void }).setStatus(status);
  const settle = () => {
    if (cluster.status === 'close' || (cluster.status === 'disconnecting' && cluster.nodes().length === 0)) setStatus('end');
  };
  const disconnect = cluster.disconnect.bind(cluster);
  cluster.disconnect = (reconnect = false) => {
    disconnect(reconnect);
    if (reconnect) return;
    // Either the pool is empty already, or its nodes end, it drains and the cluster closes.
    setImmediate(settle);
    cluster.once('close', () => setImmediate(settle));
  };
  const duplicate = cluster.duplicate.bind(cluster);
  cluster.duplicate = ((...args: Parameters<Cluster['duplicate']>) => endingCluster(duplicate(...args))) as Cluster['duplicate'];
  return cluster;
}

/**
 * A second connection to the same Redis with other per-command settings (e.g. the request guards'
 * fail-fast connection). A cluster's nodes take them as node options; its commands stop retrying
 * a failover as soon as the node options say so.
 */
export function duplicateRedis(
  shared: RedisConnection,
  options: Pick<RedisOptions, 'connectionName' | 'enableOfflineQueue' | 'maxRetriesPerRequest' | 'commandTimeout'>,
): RedisConnection {
  if (shared instanceof Redis) return shared.duplicate(options);
  const { enableOfflineQueue, ...nodeOptions } = options;
  return shared.duplicate([], {
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    redisOptions: { ...shared.options.redisOptions, ...nodeOptions },
    // A fail-fast connection must not sit out a failover: it reports Redis down at once instead.
    ...(enableOfflineQueue === false ? { maxRedirections: 2, clusterRetryStrategy: (times: number) => Math.min(times * 200, 2000) } : {}),
  });
}

/**
 * Every key matching `pattern` (a SCAN MATCH glob). On a cluster SCAN covers one node, so each
 * master is scanned in turn.
 */
export async function scanKeys(redis: RedisConnection, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Redis ? [redis] : redis.nodes('master');
  const out: string[] = [];
  for (const node of nodes) {
    for await (const keys of node.scanStream({ match: pattern, count: 500 })) out.push(...(keys as string[]));
  }
  return out;
}

/**
 * Fail fast at boot with one line that names the fix, instead of retrying forever in silence.
 */
export async function assertRedisReachable(target: string | RedisTarget, timeoutMs = 3000): Promise<void> {
  const t = asTarget(target);
  const probeOptions: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs };
  const probe = t.clusterNodes?.length
    ? new Cluster(
        seeds(t.clusterNodes),
        clusterOptions(t, probeOptions, { lazyConnect: true, clusterRetryStrategy: () => null, maxRedirections: 2 }),
      )
    : new Redis(t.url, probeOptions);
  // The socket error (ECONNREFUSED, ENOTFOUND…) says more than the "Connection is closed" that follows it.
  let socketError: Error | undefined;
  probe.on('error', (err: Error) => (socketError ??= err));
  const where = t.clusterNodes?.length ? `the Redis Cluster at ${t.clusterNodes.join(',')}` : `Redis at ${redact(t.url)}`;
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const cause = socketError ?? err;
    const reason = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
    const fix = t.clusterNodes?.length
      ? 'set REDIS_CLUSTER_NODES to reachable cluster nodes'
      : 'Start Redis (e.g. `redis-server`) or set REDIS_URL to a reachable server';
    throw new Error(`Cannot reach ${where} (${reason}). ${fix}.`);
  } finally {
    probe.disconnect();
  }
}

/**
 * Send a MULTI or pipeline and answer its replies in order; the first command that failed throws
 * (ioredis resolves `exec` with an [error, reply] pair per command instead).
 */
export async function execReplies(commands: ChainableCommander): Promise<unknown[]> {
  return ((await commands.exec()) ?? []).map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
}

/** Never print a password that came in the URL. */
export const redact = (url: string) => url.replace(/\/\/([^@/]*)@/, '//***@');
