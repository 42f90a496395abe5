/**
 * Resampling between a photo and a model's fixed input square, kept in float so that nothing is
 * rounded to 8 bits between the photo and the tensor (or between the model's output and the mask).
 */
import sharp from 'sharp';

/**
 * Bilinear resize of `channels`-interleaved float samples, sample centres aligned (pixel `x` of the
 * output sits at `(x + 0.5)·sw/dw − 0.5` of the input), edges clamped. For enlarging: it does no
 * anti-aliasing, so shrinking by more than ~1.5× aliases (see {@link photoToSquare}).
 */
export function resizeBilinear(src: Float32Array, sw: number, sh: number, channels: number, dw: number, dh: number): Float32Array {
  const out = new Float32Array(dw * dh * channels);
  const x0s = new Int32Array(dw);
  const x1s = new Int32Array(dw);
  const fxs = new Float32Array(dw);
  for (let x = 0; x < dw; x++) {
    const gx = Math.min(Math.max(((x + 0.5) * sw) / dw - 0.5, 0), sw - 1);
    x0s[x] = Math.floor(gx);
    x1s[x] = Math.min(x0s[x]! + 1, sw - 1);
    fxs[x] = gx - x0s[x]!;
  }
  for (let y = 0; y < dh; y++) {
    const gy = Math.min(Math.max(((y + 0.5) * sh) / dh - 0.5, 0), sh - 1);
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    const r0 = y0 * sw;
    const r1 = Math.min(y0 + 1, sh - 1) * sw;
    for (let x = 0, o = y * dw * channels; x < dw; x++) {
      const a = (r0 + x0s[x]!) * channels;
      const b = (r0 + x1s[x]!) * channels;
      const c = (r1 + x0s[x]!) * channels;
      const d = (r1 + x1s[x]!) * channels;
      const fx = fxs[x]!;
      for (let k = 0; k < channels; k++, o++) {
        const top = src[a + k]! + (src[b + k]! - src[a + k]!) * fx;
        const bottom = src[c + k]! + (src[d + k]! - src[c + k]!) * fx;
        out[o] = top + (bottom - top) * fy;
      }
    }
  }
  return out;
}

/**
 * The photo's RGB (0..255, float, interleaved) at `side × side`, aspect ignored as ISNet's
 * reference inference does. Axes that shrink go through libvips' anti-aliased reduction (a
 * triangle filter as wide as the shrink) to at most `side`; axes that grow are then interpolated
 * bilinearly in float.
 *
 * Why not libvips for enlarging too: on the ten renders (640² → 1024², medium model, mask not
 * refined) float bilinear with aligned sample centres scored higher IoU than libvips' 8-bit
 * `linear` enlargement on nine of ten (+0.0003 to +0.0039; edges sit where the photo's are), and
 * lower on the busy checkered floor, where the model's answer swings with any change of input
 * (0.33 against 0.40; the peer's resize gives 0.34). That swing is what `quality: "best"` outvotes
 * (`QUALITY_VIEWS`), not something a kernel fixes.
 */
export async function photoToSquare(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  side: number,
): Promise<Float32Array> {
  const rw = Math.min(width, side);
  const rh = Math.min(height, side);
  let rgb: Uint8Array;
  if (rw === width && rh === height && channels === 3) rgb = pixels;
  else {
    const img = sharp(pixels, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } }).removeAlpha();
    const resized = rw === width && rh === height ? img : img.resize(rw, rh, { fit: 'fill', kernel: 'linear' });
    rgb = new Uint8Array(await resized.raw().toBuffer());
  }
  const f = Float32Array.from(rgb);
  return rw === side && rh === side ? f : resizeBilinear(f, rw, rh, 3, side, side);
}
