import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { builtinTemplates, loadTemplatesFrom } from './builtin.js';
import { applyParams } from './params.js';
import { parseTemplate } from './schema.js';

const good = { id: 'shop-blue', name: 'Shop blue', backdrop: { type: 'solid', colour: '#0044aa' } };

/** The field paths an `INVALID_TEMPLATE` error names. */
function refusedFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('INVALID_TEMPLATE');
    expect((err as AppError).status).toBe(422);
    const issues = (err as AppError).details!.issues as Array<{ path: string }>;
    for (const i of issues) expect((err as AppError).message).toContain(i.path);
    return issues.map((i) => i.path);
  }
  throw new Error('expected the template to be refused');
}

describe('template schema', () => {
  it('accepts a minimal template and fills defaults', () => {
    const { template, version } = parseTemplate(good);
    expect(template.layout).toEqual({ fill: 0.8, padding: 0.05, anchor: { x: 0.5, y: 0.5 }, trim: true });
    expect(version).toMatch(/^[0-9a-f]{64}$/);
  });

  it('versions by content, not key order', () => {
    const reordered = { backdrop: { colour: '#0044aa', type: 'solid' }, name: 'Shop blue', id: 'shop-blue' };
    expect(parseTemplate(reordered).version).toBe(parseTemplate(good).version);
    expect(parseTemplate({ ...good, name: 'Shop blue 2' }).version).not.toBe(parseTemplate(good).version);
  });

  it.each([
    ['an unknown field', { ...good, shadow: {} }, '(root)'],
    ['an unknown backdrop field', { ...good, backdrop: { type: 'solid', colour: '#000000', blur: 2 } }, 'backdrop'],
    ['a colour channel out of range', { ...good, backdrop: { type: 'solid', colour: [0, 300, 0] } }, 'backdrop.colour.1'],
    ['a malformed colour', { ...good, backdrop: { type: 'solid', colour: '#12345' } }, 'backdrop.colour'],
    ['padding of half the canvas', { ...good, layout: { padding: 0.5 } }, 'layout.padding'],
    ['a zero fill', { ...good, layout: { fill: 0 } }, 'layout.fill'],
    ['a fill over 1', { ...good, layout: { fill: 1.2 } }, 'layout.fill'],
    ['an anchor off the canvas', { ...good, layout: { anchor: { x: 1.5, y: 0.5 } } }, 'layout.anchor.x'],
    ['a shadow opacity over 1', { ...good, shadows: { drop: { opacity: 2 } } }, 'shadows.drop.opacity'],
    ['an unknown channel', { ...good, channels: ['tiktok'] }, 'channels.0'],
    ['an unknown backdrop type', { ...good, backdrop: { type: 'hologram' } }, 'backdrop.type'],
    ['a bad id', { ...good, id: 'Shop Blue' }, 'id'],
  ])('refuses %s, naming the field', (_what, raw, field) => {
    expect(refusedFields(() => parseTemplate(raw))).toContain(field);
  });

  it('refuses params that make an impossible layout, naming the field', () => {
    const { template } = parseTemplate(good);
    expect(refusedFields(() => applyParams(template, { padding: 0.6 }))).toContain('layout.padding');
    expect(refusedFields(() => applyParams(template, { from: '#000000' }))).toContain('params.from');
    expect(applyParams(template, { colour: '#ff0000' }).template.backdrop).toEqual({ type: 'solid', colour: '#ff0000' });
  });
});

describe('built-in templates', () => {
  it('all load and validate', () => {
    expect([...builtinTemplates().keys()].sort()).toEqual(['backplate', 'brand-colour', 'gradient', 'marketplace-white', 'studio']);
  });

  it('a bad file stops the loader, naming the file and the field', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'templates-'));
    try {
      await writeFile(path.join(dir, 'broken.json'), JSON.stringify({ ...good, id: 'broken', layout: { padding: 0.7 } }));
      expect(() => loadTemplatesFrom(dir)).toThrow(/broken\.json.*layout\.padding/);
      await writeFile(path.join(dir, 'broken.json'), JSON.stringify({ ...good, id: 'other' }));
      expect(() => loadTemplatesFrom(dir)).toThrow(/broken\.json.*id/);
      await writeFile(path.join(dir, 'broken.json'), '{ not json');
      expect(() => loadTemplatesFrom(dir)).toThrow(/broken\.json.*not JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
