/**
 * Contact sheet of the worst cut-outs: per row (one side of the benchmark) its worst scenes by IoU,
 * each tile the cut-out over a grey checkerboard with the errors tinted: product the cut-out lost
 * (truth ≥ 0.5, alpha < 0.5) in red, background it kept (alpha ≥ 0.5, truth < 0.5) in blue.
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { DecodedImage } from '../../workers/steps/types.js';

export interface SheetTile {
  name: string;
  image: DecodedImage;
  alpha: Uint8Array;
  truth: Uint8Array;
  iou: number;
}

export interface SheetRow {
  label: string;
  tiles: SheetTile[];
}

const TILE = 256;
const CAPTION = 22;
const LOST: [number, number, number] = [230, 30, 30];
const KEPT: [number, number, number] = [30, 90, 230];

/** Cut-out of one scene over a checkerboard with the error tint, at its own size, RGB. */
function tilePixels(t: SheetTile): Buffer {
  const { width, height, channels, data } = t.image;
  const out = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const x = p % width;
    const y = (p / width) | 0;
    const board = ((x >> 4) + (y >> 4)) % 2 ? 200 : 150;
    const a = t.alpha[p]! / 255;
    const lost = t.truth[p]! >= 128 && t.alpha[p]! < 128;
    const kept = t.alpha[p]! >= 128 && t.truth[p]! < 128;
    for (let c = 0; c < 3; c++) {
      let v = data[p * channels + c]! * a + board * (1 - a);
      if (lost) v = 0.4 * v + 0.6 * LOST[c]!;
      if (kept) v = 0.5 * v + 0.5 * KEPT[c]!;
      out[p * 3 + c] = v;
    }
  }
  return out;
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Write the sheet (JPEG, one row per side) to `path`. */
export async function writeWorstSheet(rows: SheetRow[], path: string): Promise<void> {
  const cols = Math.max(1, ...rows.map((r) => r.tiles.length));
  const width = cols * TILE;
  const height = rows.length * (TILE + CAPTION);
  const layers: OverlayOptions[] = [];
  for (const [r, row] of rows.entries()) {
    for (const [c, t] of row.tiles.entries()) {
      const px = tilePixels(t);
      const tile = await sharp(px, { raw: { width: t.image.width, height: t.image.height, channels: 3 } })
        .resize(TILE, TILE, { fit: 'contain', background: '#202020' })
        .png()
        .toBuffer();
      const top = r * (TILE + CAPTION);
      layers.push({ input: tile, left: c * TILE, top: top + CAPTION });
      const caption = `${row.label}: ${t.name} · IoU ${t.iou.toFixed(3)}`;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${TILE}" height="${CAPTION}"><rect width="100%" height="100%" fill="#202020"/><text x="4" y="15" font-family="DejaVu Sans, sans-serif" font-size="10.5" fill="#ffe070">${escapeXml(caption)}</text></svg>`;
      layers.push({ input: Buffer.from(svg), left: c * TILE, top });
    }
  }
  await sharp({ create: { width, height, channels: 3, background: '#202020' } })
    .composite(layers)
    .jpeg({ quality: 82 })
    .toFile(path);
}
