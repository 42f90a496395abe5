import { describe, expect, it } from 'vitest';
import { assertRedisReachable, redact } from './redis.js';

describe('assertRedisReachable', () => {
  it('names the fix in one line when Redis is not there', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const err = await assertRedisReachable('redis://127.0.0.1:1', 1000).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^Cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*set REDIS_URL/);
    expect(err!.message).not.toContain('\n');
  });

  it('passes against the real Redis the suite runs on', async () => {
    await expect(assertRedisReachable(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')).resolves.toBeUndefined();
  });

  it('names the cluster setting when no cluster node answers', async () => {
    const err = await assertRedisReachable({ url: 'redis://:secret@127.0.0.1:6379', clusterNodes: ['127.0.0.1:1'] }, 1000).catch(
      (e: unknown) => e as Error,
    );
    expect(err!.message).toMatch(/^Cannot reach the Redis Cluster at 127\.0\.0\.1:1 .*REDIS_CLUSTER_NODES/);
    expect(err!.message).not.toContain('secret');
  });

  it('never prints a password from the URL', () => {
    expect(redact('redis://user:secret@host:6379/0')).toBe('redis://***@host:6379/0');
  });
});
