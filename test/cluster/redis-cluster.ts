import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** A real Redis Cluster of Debian's redis-server on loopback: three masters, one replica each. */
export interface OwnCluster {
  /** `127.0.0.1:<port>` of every node, for REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** The node that serves `key`'s hash slot now, as `127.0.0.1:<port>`. */
  masterOf(key: string): Promise<string>;
  /** SIGKILL the node and wait until its replica is promoted and the cluster is whole again. */
  killMasterAndFailOver(node: string): Promise<{ promoted: string }>;
  /** Stop every node (SIGKILL) and remove their folders. Calling it twice is harmless. */
  destroy(): Promise<void>;
}

/** Cluster bus ports are the client port + 10000: both must be free and below 65536. */
async function freeNodePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) {
      taken.add(port).add(port + 10_000);
      return port;
    }
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Each node runs under a small shell that SIGKILLs it when told to (SIGTERM) and also when this
 * test process is gone, however it went (a timed-out hook, a killed test worker): no node outlives
 * the test.
 */
const WATCHED = `parent=$1; shift
redis-server "$@" & node=$!
trap 'kill -9 $node 2>/dev/null' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 $node 2>/dev/null; do sleep 0.5; done
kill -9 $node 2>/dev/null; wait $node 2>/dev/null`;

/** SIGKILL the node under `child` (its watcher) and wait until the watcher is gone. */
async function killNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Six `redis-server --cluster-enabled yes` on free loopback ports, joined by `redis-cli --cluster
 * create --cluster-replicas 1`. A node that misses `nodeTimeoutMs` of pings is failed over.
 */
export async function startOwnCluster(nodeTimeoutMs = 2000): Promise<OwnCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const taken = new Set<number>();
  let destroyed: Promise<void> | undefined;
  const destroy = () =>
    (destroyed ??= (async () => {
      await Promise.all([...children.values()].map(killNode));
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    for (let i = 0; i < 6; i++) {
      const port = await freeNodePort(taken);
      const child = spawn(
        'bash',
        [
          '-c',
          WATCHED,
          'redis-node',
          String(process.pid),
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--dbfilename',
          `dump-${port}.rdb`,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--appendonly',
          'yes',
          '--appendfilename',
          `aof-${port}.aof`,
          '--appenddirname',
          `aof-${port}`,
          '--save',
          '',
          '--maxmemory-policy',
          'noeviction',
          // A replica promotes itself however long its link was down (a young cluster's replica may not have synced long).
          '--cluster-replica-validity-factor',
          '0',
        ],
        { stdio: 'ignore' },
      );
      children.set(port, child);
    }
    const ports = [...children.keys()];
    for (const port of ports)
      await until(`redis-server on ${port}`, async () => ((await cli(port, 'PING')).trim() === 'PONG' ? true : undefined), 20_000);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    await Promise.all(ports.map((port) => untilWhole(port)));
    // Replicas that finished their first sync: a failover from here loses nothing already acknowledged and replicated.
    await Promise.all(
      ports.map((port) =>
        until(
          `node ${port} to be a master or a synced replica`,
          async () => {
            const info = await cli(port, 'INFO', 'replication');
            return /role:master/.test(info) || /master_link_status:up/.test(info) ? true : undefined;
          },
          60_000,
        ),
      ),
    );
  } catch (err) {
    await destroy();
    throw err;
  }

  const alive = () => [...children.entries()].filter(([, c]) => c.exitCode === null && c.signalCode === null).map(([p]) => p);
  const masterOf = async (key: string): Promise<string> => {
    const slot = Number((await cli(alive()[0]!, 'CLUSTER', 'KEYSLOT', key)).trim());
    const probe = new Redis({ port: alive()[0]!, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      const slots = (await probe.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const range = slots.find(([from, to]) => slot >= from && slot <= to)!;
      return `127.0.0.1:${range[2][1]}`;
    } finally {
      probe.disconnect();
    }
  };

  return {
    nodes: [...children.keys()].map((p) => `127.0.0.1:${p}`),
    masterOf,
    async killMasterAndFailOver(node) {
      const port = Number(node.split(':')[1]);
      const replica = await replicaOf(port);
      await killNode(children.get(port)!);
      await until(
        `replica ${replica} to be promoted`,
        async () => ((await cli(replica, 'ROLE')).startsWith('master') ? true : undefined),
        60_000,
      );
      await Promise.all(alive().map((p) => untilWhole(p)));
      return { promoted: `127.0.0.1:${replica}` };
    },
    destroy,
  };
}

/** Until this node says the cluster is ok and every slot is served. */
const untilWhole = (port: number) =>
  until(
    `the cluster to be ok on ${port}`,
    async () => {
      const info = await cli(port, 'CLUSTER', 'INFO');
      return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) ? true : undefined;
    },
    60_000,
  );

/** The port of the replica that follows the master on `port`. */
async function replicaOf(port: number): Promise<number> {
  const id = (await cli(port, 'CLUSTER', 'MYID')).trim();
  return until(
    `a replica of ${port}`,
    async () => {
      const lines = (await cli(port, 'CLUSTER', 'REPLICAS', id))
        .trim()
        .split('\n')
        .filter((l) => l.includes(id));
      const addr = lines[0]?.split(' ')[1];
      return addr ? Number(addr.split(':')[1]!.split('@')[0]) : undefined;
    },
    30_000,
  );
}
