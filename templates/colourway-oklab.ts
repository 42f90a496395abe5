/**
 * sRGB <-> OKLab (Björn Ottosson, 2020), the perceptual space colourways are computed in: equal
 * steps of L look equally bright and hue stays put when chroma changes, so shading survives a
 * recolour.
 */

export interface Lab {
  L: number;
  a: number;
  b: number;
}

/** 8-bit sRGB to linear light, by table: every pixel goes through it. */
const TO_LINEAR = Float64Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

const toSrgb = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);

/** 8-bit sRGB to OKLab (L 0..1). */
export function srgbToOklab(r8: number, g8: number, b8: number): Lab {
  const r = TO_LINEAR[r8]!;
  const g = TO_LINEAR[g8]!;
  const b = TO_LINEAR[b8]!;
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return {
    L: 0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    a: 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    b: 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  };
}

/** OKLab to linear sRGB, possibly outside 0..1 (out of gamut). */
function oklabToLinear(L: number, a: number, b: number, out: Float64Array): void {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  out[0] = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s;
  out[1] = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s;
  out[2] = -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s;
}

const inGamut = (c: Float64Array) =>
  c[0]! >= -1e-4 && c[0]! <= 1.0001 && c[1]! >= -1e-4 && c[1]! <= 1.0001 && c[2]! >= -1e-4 && c[2]! <= 1.0001;
const to8bit = (c: number) => Math.round(toSrgb(c < 0 ? 0 : c > 1 ? 1 : c) * 255);

/**
 * OKLab to 8-bit sRGB. Out-of-gamut colours lose chroma (same L, same hue) until they fit,
 * rather than being clipped per channel, which would shift their hue.
 */
export function oklabToSrgb(L: number, a: number, b: number, out: Uint8Array | number[] = [0, 0, 0]): Uint8Array | number[] {
  const c = scratch;
  oklabToLinear(L, a, b, c);
  if (!inGamut(c)) {
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 12; i++) {
      const mid = (lo + hi) / 2;
      oklabToLinear(L, a * mid, b * mid, c);
      if (inGamut(c)) lo = mid;
      else hi = mid;
    }
    oklabToLinear(L, a * lo, b * lo, c);
  }
  out[0] = to8bit(c[0]!);
  out[1] = to8bit(c[1]!);
  out[2] = to8bit(c[2]!);
  return out;
}
const scratch = new Float64Array(3);

/** OKLCh hue in degrees 0..360 of an (a, b) pair. */
export const hueDegrees = (a: number, b: number) => ((Math.atan2(b, a) * 180) / Math.PI + 360) % 360;
