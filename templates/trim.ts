/** A rectangle in pixels. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Parameters of {@link productBox}. */
export interface ProductBoxOptions {
  /** Alpha (0..1) at or above which a pixel is product. */
  threshold: number;
  /**
   * Blobs of product pixels smaller than this fraction of the largest blob are ignored: segmentation
   * models leave specks on textured backgrounds (wood grain, stucco) that would otherwise stretch
   * the box to the photo's corners. A second real item (the other shoe of a pair) is far larger.
   */
  minFraction: number;
  /** Grow the box by this many pixels on each side (clamped to the image) to keep soft edges. */
  grow: number;
}

/**
 * The box around the product in an alpha plane: the union of the bounding boxes of all
 * 8-connected blobs of pixels with alpha ≥ `threshold` that are not specks, grown a little.
 * `undefined` when no pixel reaches the threshold.
 */
export function productBox(alpha: Float32Array, width: number, height: number, options: ProductBoxOptions): Box | undefined {
  const n = width * height;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const blobs: Array<{ area: number; left: number; top: number; right: number; bottom: number }> = [];
  for (let start = 0; start < n; start++) {
    if (seen[start] || alpha[start]! < options.threshold) continue;
    // Flood fill with an explicit stack: recursion would overflow on a large product.
    const blob = { area: 0, left: width, top: height, right: -1, bottom: -1 };
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top]!;
      const y = (p / width) | 0;
      const x = p - y * width;
      blob.area++;
      if (x < blob.left) blob.left = x;
      if (x > blob.right) blob.right = x;
      if (y < blob.top) blob.top = y;
      if (y > blob.bottom) blob.bottom = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (seen[q] || alpha[q]! < options.threshold) continue;
          seen[q] = 1;
          stack[top++] = q;
        }
      }
    }
    blobs.push(blob);
  }
  if (blobs.length === 0) return undefined;
  // Loops rather than Math.min(...spread): a noisy mask can hold more blobs than a call takes arguments.
  let largest = 0;
  for (const b of blobs) if (b.area > largest) largest = b.area;
  let left = width;
  let top = height;
  let right = -1;
  let bottom = -1;
  for (const b of blobs) {
    if (b.area < options.minFraction * largest) continue;
    left = Math.min(left, b.left);
    top = Math.min(top, b.top);
    right = Math.max(right, b.right);
    bottom = Math.max(bottom, b.bottom);
  }
  const g = Math.max(0, Math.round(options.grow));
  left = Math.max(0, left - g);
  top = Math.max(0, top - g);
  right = Math.min(width - 1, right + g);
  bottom = Math.min(height - 1, bottom + g);
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}
