import imgixModule from '@imgix/js-core';
import { AppError } from '../lib/errors.js';

// CommonJS under NodeNext: the default import is the class or `{ default: class }` (see manifest.ts).
type ImgixClientClass = (typeof imgixModule)['default'];
const ImgixClient: ImgixClientClass =
  (imgixModule as unknown as { default?: ImgixClientClass }).default ?? (imgixModule as unknown as ImgixClientClass);

/**
 * The subset of imgix's URL API the on-demand endpoint speaks (https://docs.imgix.com/apis/rendering),
 * parsed strictly: an unknown parameter, a repeated one or a value out of range is a 400
 * `BAD_REQUEST` naming it, never silently ignored (a typo would otherwise cache a wrong image).
 */

/** Output formats of `fm` (imgix spells JPEG `jpg`). */
export const ON_DEMAND_FORMATS = ['avif', 'webp', 'jpg', 'png'] as const;
export type OnDemandFormat = (typeof ON_DEMAND_FORMATS)[number];

export const FITS = ['clip', 'crop', 'fill', 'max', 'min', 'scale'] as const;
export type Fit = (typeof FITS)[number];

/** How `fit=crop` (and `min`) chooses the window it keeps. */
export type CropChoice = { kind: 'focalpoint'; x: number; y: number } | { kind: 'entropy' } | { kind: 'gravity'; gravity: string };

/** Parameters after validation, `dpr` and the width ladder applied: what decides the output bytes. */
export interface OnDemandParams {
  /** Target box in output pixels (`w`·`dpr`, rounded up to the ladder); either may be absent. */
  w?: number;
  h?: number;
  fit: Fit;
  crop: CropChoice;
  q?: number;
  fm?: OnDemandFormat;
  autoFormat: boolean;
  autoCompress: boolean;
  /** `#rrggbbaa`. */
  bg?: string;
  /** `fill-color` for `fit=fill`, `#rrggbbaa`. */
  fillColor?: string;
  /** Padding on every side, output pixels (`pad`·`dpr`). */
  pad: number;
  trim: boolean;
  /** Source region `[x, y, width, height]`, source pixels, applied first. */
  rect?: [number, number, number, number];
}

/** Limits the parser enforces. */
export interface ParamLimits {
  /** Allowed output widths, ascending: a requested width is rounded up to the next one. */
  widths: readonly number[];
  /** MAX_OUTPUT_PIXELS: the largest box `w`×`h` (after `dpr`) a request may ask for. */
  maxOutputPixels: number;
}

/** The longest side any of our encoders writes (libwebp: 16383). */
export const MAX_SIDE = 16383;
export const MAX_DPR = 5;
export const MAX_PAD = 1000;

/** Parameters clients send that change nothing here: the signature, js-core's library tag. */
const IGNORED = new Set(['s', 'ixlib']);
const KNOWN = new Set([
  'w',
  'h',
  'fit',
  'crop',
  'fp-x',
  'fp-y',
  'dpr',
  'q',
  'fm',
  'auto',
  'bg',
  'fill',
  'fill-color',
  'pad',
  'trim',
  'rect',
]);
const GRAVITY_WORDS = new Set(['top', 'bottom', 'left', 'right', 'center']);

const bad = (param: string, message: string, extra: Record<string, unknown> = {}) =>
  new AppError('BAD_REQUEST', `Parameter ${param}: ${message}`, { param, ...extra });

function number(param: string, raw: string, min: number, max: number, integer: boolean): number {
  if (!/^-?\d+(\.\d+)?$/.test(raw)) throw bad(param, `expected a number, got ${JSON.stringify(raw.slice(0, 40))}`);
  const value = Number(raw);
  if (integer && !Number.isInteger(value)) throw bad(param, 'expected a whole number');
  if (value < min || value > max) throw bad(param, `must be between ${min} and ${max}`, { min, max });
  return value;
}

/** imgix colours: hex RGB, ARGB, RRGGBB or AARRGGBB (alpha first), to `#rrggbbaa`. */
export function parseColor(param: string, raw: string): string {
  const hex = raw.replace(/^#/, '').toLowerCase();
  if (!/^([0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/.test(hex))
    throw bad(param, 'expected a hex colour (RGB, ARGB, RRGGBB, AARRGGBB)');
  const full = hex.length <= 4 ? [...hex].map((c) => c + c).join('') : hex;
  return full.length === 6 ? `#${full}ff` : `#${full.slice(2)}${full.slice(0, 2)}`;
}

function parseCrop(raw: string, fp: { x?: string; y?: string }): CropChoice {
  const words = raw.split(',');
  if (words.includes('faces') || words.includes('edges')) {
    throw bad('crop', 'faces and edges are not supported: use focalpoint (with fp-x, fp-y) or entropy');
  }
  if (words.length === 1 && words[0] === 'focalpoint') {
    return { kind: 'focalpoint', x: fp.x ? number('fp-x', fp.x, 0, 1, false) : 0.5, y: fp.y ? number('fp-y', fp.y, 0, 1, false) : 0.5 };
  }
  if (fp.x !== undefined || fp.y !== undefined) throw bad('fp-x', 'fp-x and fp-y need crop=focalpoint');
  if (words.length === 1 && words[0] === 'entropy') return { kind: 'entropy' };
  if (!words.every((w) => GRAVITY_WORDS.has(w))) throw bad('crop', 'expected focalpoint, entropy or top, bottom, left, right, center');
  const vertical = words.find((w) => w === 'top' || w === 'bottom');
  const horizontal = words.find((w) => w === 'left' || w === 'right');
  return { kind: 'gravity', gravity: [vertical, horizontal].filter(Boolean).join(' ') || 'centre' };
}

/** The smallest ladder width ≥ `value`: one-pixel variants all land on a few cache entries. */
export function roundUpToLadder(param: string, value: number, widths: readonly number[]): number {
  const step = widths.find((w) => w >= value);
  if (step === undefined) throw bad(param, `at most ${widths.at(-1)} output pixels (after dpr)`, { max: widths.at(-1) });
  return step;
}

/**
 * Parse the query of an on-demand URL (repeated names are refused: `URLSearchParams` would keep both).
 *
 * @throws AppError 400 `BAD_REQUEST` with `details.param` for anything unknown, repeated or out of range.
 */
export function parseImgixParams(query: URLSearchParams, limits: ParamLimits): OnDemandParams {
  const raw: Record<string, string> = {};
  for (const [name, value] of query) {
    if (IGNORED.has(name)) continue;
    if (!KNOWN.has(name)) throw bad(name, 'not supported by this endpoint', { supported: [...KNOWN] });
    if (name in raw) throw bad(name, 'given more than once');
    if (value === '') throw bad(name, 'empty value');
    raw[name] = value;
  }
  const dpr = raw.dpr ? number('dpr', raw.dpr, 0.01, MAX_DPR, false) : 1;
  const fit = (raw.fit ?? 'clip') as Fit;
  if (!FITS.includes(fit)) throw bad('fit', `expected one of ${FITS.join(', ')}`);
  const fm = raw.fm as OnDemandFormat | undefined;
  if (fm !== undefined && !ON_DEMAND_FORMATS.includes(fm)) throw bad('fm', `expected one of ${ON_DEMAND_FORMATS.join(', ')}`);
  const auto = raw.auto?.split(',') ?? [];
  if (auto.some((a) => a !== 'format' && a !== 'compress')) throw bad('auto', 'expected format, compress or format,compress');

  const params: OnDemandParams = {
    fit,
    crop: parseCrop(raw.crop ?? 'center', { x: raw['fp-x'], y: raw['fp-y'] }),
    autoFormat: auto.includes('format'),
    autoCompress: auto.includes('compress'),
    pad: raw.pad ? Math.round(number('pad', raw.pad, 0, MAX_PAD, true) * dpr) : 0,
    trim: false,
  };
  // imgix's `fill=solid` is what `fit=fill` does here; `blur` and `gen` fills are not offered.
  if (raw.fill !== undefined && raw.fill !== 'solid') throw bad('fill', 'only fill=solid is supported');
  if (raw.trim !== undefined) {
    if (raw.trim !== 'auto') throw bad('trim', 'only trim=auto is supported');
    params.trim = true;
  }
  const w = raw.w ? number('w', raw.w, 1, MAX_SIDE, true) * dpr : undefined;
  const h = raw.h ? number('h', raw.h, 1, MAX_SIDE, true) * dpr : undefined;
  if (w !== undefined) {
    params.w = roundUpToLadder('w', Math.ceil(w), limits.widths);
    if (h !== undefined) params.h = Math.max(1, Math.round((h * params.w) / w));
  } else if (h !== undefined) {
    params.h = roundUpToLadder('h', Math.ceil(h), limits.widths);
  }
  if ((params.w ?? 0) > MAX_SIDE || (params.h ?? 0) > MAX_SIDE) throw bad(params.w! > MAX_SIDE ? 'w' : 'h', `at most ${MAX_SIDE} pixels`);
  if (params.w && params.h && params.w * params.h > limits.maxOutputPixels) {
    throw bad('w', `w×h (after dpr) exceeds MAX_OUTPUT_PIXELS (${limits.maxOutputPixels})`, { maxOutputPixels: limits.maxOutputPixels });
  }
  if (raw.q !== undefined) params.q = number('q', raw.q, 0, 100, true);
  if (fm !== undefined) params.fm = fm;
  if (raw.bg !== undefined) params.bg = parseColor('bg', raw.bg);
  if (raw['fill-color'] !== undefined) params.fillColor = parseColor('fill-color', raw['fill-color']);
  if (raw.rect !== undefined) {
    const parts = raw.rect.split(',');
    if (parts.length !== 4) throw bad('rect', 'expected x,y,w,h');
    const [x, y, rw, rh] = parts.map((p, i) => number('rect', p, i < 2 ? 0 : 1, 100_000, true)) as [number, number, number, number];
    params.rect = [x, y, rw, rh];
  }
  return params;
}

/**
 * The output format: `fm` when given; with `auto=format` the best the client's `Accept` names
 * (AVIF, then WebP); else PNG for a source with alpha, JPEG for an opaque one (imgix keeps the
 * source's format; our masters are PNG, so an opaque one goes out as JPEG). `varyAccept` says the
 * answer depends on `Accept` (send `Vary: Accept`).
 */
export function chooseFormat(
  params: Pick<OnDemandParams, 'fm' | 'autoFormat'>,
  accept: string | undefined,
  sourceHasAlpha: boolean,
): { format: OnDemandFormat; varyAccept: boolean } {
  if (params.fm) return { format: params.fm, varyAccept: false };
  const fallback: OnDemandFormat = sourceHasAlpha ? 'png' : 'jpg';
  if (!params.autoFormat) return { format: fallback, varyAccept: false };
  const accepts = (type: string) =>
    (accept ?? '').split(',').some((range) => {
      const [name, ...rest] = range.split(';').map((s) => s.trim().toLowerCase());
      return name === type && !rest.some((r) => /^q=0(\.0*)?$/.test(r));
    });
  return { format: accepts('image/avif') ? 'avif' : accepts('image/webp') ? 'webp' : fallback, varyAccept: true };
}

/**
 * imgix's default srcset ladder, the widths `@imgix/js-core`'s `buildSrcSet` asks for (100 px, each
 * 16% wider, up to 8192): requested widths round up to it unless ON_DEMAND_WIDTHS names another.
 */
export const imgixDefaultWidths = (): number[] => [...ImgixClient.targetWidths(100, 8192, 0.08)];
