/**
 * Evaluation sets of the background-removal benchmark: rendered product photos with exact masks,
 * each scene tagged with the class of difficulty it stands for (see bench/renders/README.md).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { decodeSource } from '../../workers/steps/decode.js';
import type { DecodedImage } from '../../workers/steps/types.js';

export interface EvalScene {
  set: string;
  name: string;
  /** Class of difficulty: glass, chrome, dark-on-dark, thin-parts, … (`unclassified` if untagged). */
  cls: string;
  image: DecodedImage;
  /** The exact mask, 8-bit, one value per pixel of `image`. */
  truth: Uint8Array;
}

interface ManifestItem {
  name: string;
  image: string;
  mask: string;
  class?: string;
}

const benchDir = resolve(import.meta.dirname, '..');
const listsDir = join(benchDir, 'renders', 'generator', 'scenes');

/**
 * Where each named set lives: `dev` (tuning) and `holdout` (final scoring only) are committed
 * under bench/renders/; `renders` is the shared set of ten (`FIXTURES_DIR` overrides its folder).
 */
export function setDir(set: string, fixturesDir: string): string {
  if (set === 'renders') return fixturesDir;
  if (set === 'dev' || set === 'holdout') return join(benchDir, 'renders', set);
  throw new Error(`unknown evaluation set '${set}' (dev, holdout, renders)`);
}

/** Scene name → class, from the generator's scene lists (5th column), for manifests without it. */
async function classesFromLists(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const file of (await readdir(listsDir)).filter((f) => f.endsWith('.list'))) {
    for (const line of (await readFile(join(listsDir, file), 'utf8')).split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const cols = line.split('\t');
      if (cols[4]) out.set(cols[0]!, cols[4]);
    }
  }
  return out;
}

/** Decode every photo and mask of a set (`limit`: only the first n, for quick runs). */
export async function loadEvalSet(set: string, dir: string, limit = Infinity): Promise<EvalScene[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ManifestItem[];
  const classes = await classesFromLists();
  const scenes: EvalScene[] = [];
  for (const item of manifest.slice(0, limit)) {
    const image = await decodeSource(await readFile(join(dir, item.image)), { maxPixels: 100_000_000 });
    const mask = await sharp(join(dir, item.mask)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    if (mask.info.width !== image.width || mask.info.height !== image.height) {
      throw new Error(`${item.name}: mask ${mask.info.width}×${mask.info.height}, photo ${image.width}×${image.height}`);
    }
    scenes.push({
      set,
      name: item.name,
      cls: item.class ?? classes.get(item.name) ?? 'unclassified',
      image,
      truth: new Uint8Array(mask.data),
    });
  }
  return scenes;
}
