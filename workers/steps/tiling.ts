/**
 * Tiling for models too costly to run on a whole image at once: cut the input into overlapping
 * tiles of one size, run each, and blend the results with weights that fade towards tile edges
 * (where a convolution sees zero padding instead of the neighbouring pixels), so no seam shows.
 * Pure arithmetic, no model and no I/O, so it is tested on its own.
 */

/** One tile, in input pixels. Every tile of an image has the same size, so the model sees one shape. */
export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Start offsets along one axis: regular steps of `tile - overlap`, the last tile pulled back to
 * end exactly at the edge (never padded: padding would change what the model sees).
 */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const stride = tile - overlap;
  if (stride < 1) throw new Error(`overlap ${overlap} leaves no stride for tiles of ${tile}`);
  const starts: number[] = [];
  for (let s = 0; s + tile < length; s += stride) starts.push(s);
  starts.push(length - tile);
  return starts;
}

/**
 * The tile length along one axis: the fewest tiles of at most `maxTile` that cover `length` with
 * `overlap`, then shrunk so they fit exactly. A fixed length would make the last tile overlap its
 * neighbour by up to a whole tile: for a 320-pixel side and 256-pixel tiles, 2.6× the pixels.
 */
export function balancedTile(length: number, maxTile: number, overlap: number): number {
  if (length <= maxTile) return length;
  const count = Math.ceil((length - overlap) / (maxTile - overlap));
  return Math.min(maxTile, Math.ceil((length - overlap) / count) + overlap);
}

/**
 * All tiles of a `width × height` image, row by row (the blend buffer relies on that order), at
 * most `tileSize` on a side and all the same size, so the model sees one shape per image.
 */
export function planTiles(width: number, height: number, tileSize: number, overlap: number): Tile[] {
  const tw = balancedTile(width, tileSize, overlap);
  const th = balancedTile(height, tileSize, overlap);
  const tiles: Tile[] = [];
  for (const y of tileStarts(height, th, overlap))
    for (const x of tileStarts(width, tw, overlap)) tiles.push({ x, y, width: tw, height: th });
  return tiles;
}

/**
 * `i` mirrored into 0..n-1 about the edge pixels, which are not repeated (…2 1 | 0 1 2 … n-2 n-1 | n-2…):
 * reflect-101, as Real-ESRGAN-ncnn-vulkan pads. Repeats for windows wider than the image; 0 when n is 1.
 */
export function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * Blend weights along one axis for the output of a tile starting at `start` (input pixels) of
 * `size` pixels in an image `length` pixels long, upscaled by `scale`: t³ with t rising from 0 to
 * 1 over `overlap` input pixels on each side that has a neighbour; weight 1 at the image border
 * (nothing else covers it). Cubic rather than linear because a tile's outermost pixels are the
 * ones spoiled by the convolutions' zero padding: t³ all but ignores them, and the two tiles still
 * hand over smoothly in the middle of the overlap (measured on slim/medium: a linear ramp left
 * 2–3× the tiled-vs-untiled error). Always > 0, so every output pixel has a positive total weight.
 */
export function axisWeights(start: number, size: number, length: number, overlap: number, scale: number): Float32Array {
  const out = new Float32Array(size * scale);
  const hasBefore = start > 0;
  const hasAfter = start + size < length;
  for (let u = 0; u < out.length; u++) {
    const fromStart = (u + 0.5) / scale;
    let w = 1;
    if (overlap > 0 && hasBefore) w = Math.min(w, fromStart / overlap);
    if (overlap > 0 && hasAfter) w = Math.min(w, (size - fromStart) / overlap);
    out[u] = w * w * w;
  }
  return out;
}

/**
 * Accumulates weighted tile outputs for a band of output rows, and writes finished rows to the
 * 8-bit destination. Only one tile row's worth of floats is held (not a float copy of the whole
 * output), which is what keeps a large upscale within memory.
 */
export class BlendBuffer {
  private readonly acc: Float32Array;
  private readonly weight: Float32Array;
  private top = 0;

  /**
   * @param dest interleaved 8-bit output, `width × height × destChannels`; channels 0..2 are written.
   * @param bandRows output rows one tile covers.
   */
  constructor(
    private readonly dest: Uint8Array,
    private readonly width: number,
    private readonly height: number,
    private readonly destChannels: number,
    private readonly bandRows: number,
  ) {
    this.acc = new Float32Array(bandRows * width * 3);
    this.weight = new Float32Array(bandRows * width);
  }

  /**
   * Add one tile's output (`NHWC` RGB floats already in 0..255, `tw × th` output pixels at
   * output position `ox, oy`), weighted by `wx[i] · wy[j]`.
   */
  add(values: Float32Array, ox: number, oy: number, tw: number, th: number, wx: Float32Array, wy: Float32Array): void {
    const row0 = oy - this.top;
    if (row0 < 0 || row0 + th > this.bandRows) throw new Error(`tile rows ${oy}..${oy + th} fall outside the blend band at ${this.top}`);
    for (let j = 0; j < th; j++) {
      const wyj = wy[j]!;
      const base = (row0 + j) * this.width + ox;
      for (let i = 0; i < tw; i++) {
        const w = wx[i]! * wyj;
        const p = base + i;
        const s = (j * tw + i) * 3;
        this.weight[p]! += w;
        this.acc[p * 3]! += values[s]! * w;
        this.acc[p * 3 + 1]! += values[s + 1]! * w;
        this.acc[p * 3 + 2]! += values[s + 2]! * w;
      }
    }
  }

  /** Write out every row above `row` (no later tile reaches them) and slide the band down to it. */
  flushUntil(row: number): void {
    const end = Math.min(row, this.height);
    const n = end - this.top;
    if (n <= 0) return;
    if (n > this.bandRows) throw new Error(`cannot flush ${n} rows from a band of ${this.bandRows}`);
    for (let r = 0; r < n; r++) {
      for (let x = 0; x < this.width; x++) {
        const p = r * this.width + x;
        const inv = 1 / this.weight[p]!;
        const d = ((this.top + r) * this.width + x) * this.destChannels;
        for (let c = 0; c < 3; c++) {
          const v = this.acc[p * 3 + c]! * inv;
          // Clamp: models overshoot a little around strong edges.
          this.dest[d + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
        }
      }
    }
    this.acc.copyWithin(0, n * this.width * 3);
    this.acc.fill(0, (this.bandRows - n) * this.width * 3);
    this.weight.copyWithin(0, n * this.width);
    this.weight.fill(0, (this.bandRows - n) * this.width);
    this.top = end;
  }
}
