import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEvalSet, setDir } from './eval-set.js';

const scenesDir = resolve(import.meta.dirname, '../renders/generator/scenes');
const CLASSES = ['glass', 'chrome', 'dark-on-dark', 'thin-parts', 'hard-shadow', 'glossy-floor', 'fur-mesh', 'busy-background'];

/** Scene names and classes of a generator list file. */
async function listRows(set: string): Promise<Array<{ name: string; cls: string }>> {
  const text = await readFile(join(scenesDir, `${set}.list`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .map((cols) => ({ name: cols[0]!, cls: cols[4] ?? '' }));
}

describe('the committed evaluation sets', () => {
  it('keep tuning and final scoring apart, every class in both, about a third for tuning', async () => {
    const dev = await listRows('dev');
    const holdout = await listRows('holdout');
    const devNames = new Set(dev.map((r) => r.name));
    expect(holdout.filter((r) => devNames.has(r.name))).toEqual([]);
    expect(dev.length + holdout.length).toBeGreaterThanOrEqual(30);
    expect(dev.length / (dev.length + holdout.length)).toBeGreaterThan(0.25);
    expect(dev.length / (dev.length + holdout.length)).toBeLessThan(0.4);
    for (const cls of CLASSES) {
      expect(
        dev.some((r) => r.cls === cls),
        `dev has ${cls}`,
      ).toBe(true);
      expect(holdout.filter((r) => r.cls === cls).length, `holdout has ${cls}`).toBeGreaterThanOrEqual(2);
    }
    expect([...dev, ...holdout].every((r) => CLASSES.includes(r.cls))).toBe(true);
  });

  it.each(['dev', 'holdout'])('%s: every listed scene is rendered, tagged, with a non-trivial mask of its size', async (set) => {
    const rows = await listRows(set);
    const scenes = await loadEvalSet(set, setDir(set, ''));
    expect(scenes.map((s) => s.name).sort()).toEqual(rows.map((r) => r.name).sort());
    for (const s of scenes) {
      expect(s.cls).toBe(rows.find((r) => r.name === s.name)!.cls);
      expect(s.truth.length).toBe(s.image.width * s.image.height);
      const product = s.truth.reduce((n, v) => n + (v >= 128 ? 1 : 0), 0) / s.truth.length;
      expect(product, s.name).toBeGreaterThan(0.01);
      expect(product, s.name).toBeLessThan(0.75);
    }
  });
});
