import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../records/experiment-store.js';
import { parseRenditionFile, routingFor } from './routing.js';

const rendition = (variant: string, width: number, channel?: string) => ({
  ...(channel ? { channel } : {}),
  width,
  height: width,
  format: 'webp' as const,
  key: `t/shop/r/${variant}${channel ?? ''}/${width}.webp`,
});

const experiment = (state: Experiment['state']): Experiment => ({
  id: 'exp_00000000000000000000000000000001',
  tenantId: 'shop',
  name: 'Test',
  createdAt: '2026-01-01T00:00:00.000Z',
  state,
  skus: [{ sku: 'MUG', assetId: 'ast_1' }],
  variants: [
    { id: 'b', weight: 3, control: false, recipe: {} },
    { id: 'a', weight: 1, control: true, recipe: {} },
  ],
  plan: { baselineRate: 0.05, minimumDetectableEffect: 0.2, alpha: 0.05, power: 0.8, visitorsPerVariant: 8158 },
  batchId: 'bat_1',
  renditions: {
    a: { MUG: [rendition('a', 320), rendition('a', 320, 'marketplace')] },
    b: { MUG: [rendition('b', 320), rendition('b', 320, 'marketplace')] },
  },
});

describe('experiment routing', () => {
  it('reads only rendition file names', () => {
    expect(parseRenditionFile('320.jpg')).toEqual({ width: 320, format: 'jpeg' });
    expect(parseRenditionFile('0320.webp')).toBeUndefined();
    expect(parseRenditionFile('320.png')).toBeUndefined();
  });

  it('splits by weight while live, with the control found wherever it is listed', () => {
    const routing = routingFor(experiment('live'), 'MUG', undefined, { width: 320, format: 'webp' })!;
    expect(routing).toEqual({
      splitting: true,
      variants: [
        { id: 'b', key: 't/shop/r/b/320.webp' },
        { id: 'a', key: 't/shop/r/a/320.webp' },
      ],
      cuts: [7500, 10000],
      control: 1,
    });
    expect(routingFor(experiment('live'), 'MUG', 'marketplace', { width: 320, format: 'webp' })!.variants[0]!.key).toBe(
      't/shop/r/bmarketplace/320.webp',
    );
  });

  it('shows only the control while paused or stopped, and nothing for a missing rendition or an unrendered experiment', () => {
    expect(routingFor(experiment('paused'), 'MUG', undefined, { width: 320, format: 'webp' })).toEqual({
      splitting: false,
      variants: [{ id: 'a', key: 't/shop/r/a/320.webp' }],
      cuts: [10000],
      control: 0,
    });
    expect(routingFor(experiment('live'), 'MUG', undefined, { width: 640, format: 'webp' })).toBeUndefined();
    expect(routingFor(experiment('live'), 'CUP', undefined, { width: 320, format: 'webp' })).toBeUndefined();
    expect(
      routingFor({ ...experiment('rendering'), renditions: undefined }, 'MUG', undefined, { width: 320, format: 'webp' }),
    ).toBeUndefined();
  });
});
