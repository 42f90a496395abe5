import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { checkItem, itemKey, parseSource, templateRecipe } from './items.js';

const ASSET = 'ast_0123456789abcdef0123456789abcdef';

describe('catalog items', () => {
  it('tells the three kinds of source apart', () => {
    expect(parseSource(ASSET)).toEqual({ kind: 'asset', assetId: ASSET });
    expect(parseSource('https://cdn.example.com/a b.jpg')).toEqual({ kind: 'url', url: 'https://cdn.example.com/a%20b.jpg' });
    expect(parseSource('inbox/spring/shoe-1.jpg')).toEqual({ kind: 'inbox', key: 'inbox/spring/shoe-1.jpg' });
    for (const bad of ['ftp://x/y', 'inbox/../t/other/x.jpg', '/etc/passwd', 'ast_short', '']) {
      expect(() => parseSource(bad), bad).toThrow(AppError);
    }
  });

  it('merges `options` into the render step and turns a template into its recipe', () => {
    expect(checkItem({ sku: 'a', source: ASSET, options: '{"widths":[320]}' }).recipe).toEqual({
      steps: [{ name: 'render', options: { widths: [320] } }],
    });
    expect(checkItem({ sku: 'a', source: ASSET, template: 'studio' }).recipe).toEqual(templateRecipe('studio'));
    expect(templateRecipe('studio').steps.map((s) => s.name)).toEqual(['remove-background', 'generate', 'render']);
    expect(() => checkItem({ sku: 'a', source: ASSET, recipe: '{}', template: 'studio' })).toThrow(/not both/);
  });

  it('keys an item by tenant, SKU, source and recipe, whatever the key order of the recipe', () => {
    const a = checkItem({
      sku: 'a',
      source: ASSET,
      recipe: { steps: [{ name: 'render', options: { widths: [320], formats: ['webp'] } }] },
    });
    const b = checkItem({
      sku: 'a',
      source: ASSET,
      recipe: { steps: [{ options: { formats: ['webp'], widths: [320] }, name: 'render' }] },
    });
    expect(itemKey('t1', a)).toBe(itemKey('t1', b));
    expect(itemKey('t2', a)).not.toBe(itemKey('t1', a));
    expect(itemKey('t1', { ...a, sku: 'b' })).not.toBe(itemKey('t1', a));
  });

  it('refuses a recipe or options cell nested past MAX_JSON_DEPTH, naming the column', () => {
    const deep = `{"steps":[{"name":"render","options":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]}`;
    expect(() => checkItem({ sku: 'a', source: ASSET, recipe: deep })).toThrow(/`recipe` nests JSON deeper than 32 levels/);
    expect(() => checkItem({ sku: 'a', source: ASSET, options: `${'['.repeat(40)}${']'.repeat(40)}` })).toThrow(
      /`options` nests JSON deeper/,
    );
  });
});
