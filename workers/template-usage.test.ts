import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../test/harness.js';
import { TemplateUsage } from './template-usage.js';

describe('TemplateUsage (real Redis)', () => {
  const prefix = `test-${randomUUID()}`;
  const redis = createRedis(REDIS_URL, 'test');
  const usage = new TemplateUsage(redis, prefix);
  const v = (n: string) => n.repeat(64);
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    await redis.quit();
  });

  it('lists the assets whose latest published run used a template, per tenant', async () => {
    await usage.record('tn_a', 'ast_1', { id: 'studio', version: v('1') });
    await usage.record('tn_a', 'ast_2', { id: 'studio', version: v('2') });
    await usage.record('tn_b', 'ast_3', { id: 'studio', version: v('1') });
    expect(await usage.assetsUsingTemplate('tn_a', 'studio')).toEqual(['ast_1', 'ast_2']);
    expect(await usage.templateOf('tn_a', 'ast_2')).toEqual({ id: 'studio', version: v('2') });

    await usage.record('tn_a', 'ast_1', { id: 'gradient', version: v('3') }); // moved to another template
    await usage.record('tn_a', 'ast_2', undefined); // a run without a template
    expect(await usage.assetsUsingTemplate('tn_a', 'studio')).toEqual([]);
    expect(await usage.assetsUsingTemplate('tn_a', 'gradient')).toEqual(['ast_1']);
    expect(await usage.templateOf('tn_a', 'ast_2')).toBeUndefined();
    expect(await usage.assetsUsingTemplate('tn_b', 'studio')).toEqual(['ast_3']);
  });
});
