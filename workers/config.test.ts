import { describe, expect, it } from 'vitest';
import { loadWorkersConfig } from './config.js';

describe('QUEUE_PREFIX and REDIS_CLUSTER_NODES', () => {
  it('accepts a hash-tagged prefix, as BullMQ documents for Redis Cluster', () => {
    expect(loadWorkersConfig({ QUEUE_PREFIX: '{pipeline}' }).queuePrefix).toBe('{pipeline}');
    expect(loadWorkersConfig({ QUEUE_PREFIX: '{shop}.eu-1' }).queuePrefix).toBe('{shop}.eu-1');
  });

  it('refuses braces anywhere but one leading hash tag, and glob characters', () => {
    for (const bad of ['pi{pe}line', '{}', '{a}{b}', '{pipeline', 'a*b', 'a b', '']) {
      expect(() => loadWorkersConfig({ QUEUE_PREFIX: bad }), bad).toThrow(/QUEUE_PREFIX/);
    }
  });

  it('reads cluster seed nodes; REDIS_URL then gives only credentials', () => {
    const config = loadWorkersConfig({
      QUEUE_PREFIX: '{pipeline}',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-2.internal:7001',
      REDIS_URL: 'redis://:secret@x',
    });
    expect(config.redis).toEqual({ url: 'redis://:secret@x', clusterNodes: ['10.0.0.1:7000', 'redis-2.internal:7001'] });
    expect(loadWorkersConfig({}).redis).toEqual({ url: 'redis://127.0.0.1:6379' });
  });

  it('refuses a cluster with a prefix that would spread keys over slots (CROSSSLOT), naming the fix', () => {
    expect(() => loadWorkersConfig({ QUEUE_PREFIX: 'pipeline', REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toThrow(
      /QUEUE_PREFIX: .*\{pipeline\}/,
    );
    expect(() => loadWorkersConfig({ QUEUE_PREFIX: '{p}', REDIS_CLUSTER_NODES: '127.0.0.1' })).toThrow(/REDIS_CLUSTER_NODES/);
  });
});
