import { z } from 'zod';
import { CONTENT_TYPES, OUTPUT_FORMATS, type OutputFormat } from './formats.js';

/**
 * The `<picture>` snippet a merchant pastes as is. Its `sizes` must describe the layout the snippet
 * itself declares, or the browser picks the wrong candidate: with `width="1280"` and `sizes="100vw"`
 * a 1440 px screen fetched the 1920 px file for an image laid out at 1280 CSS px, and a phone with
 * no CSS laid the image out 1280 px wide and scrolled the page sideways. So the `<img>` is at most
 * its `width` attribute wide and shrinks with its container (`max-width:100%;height:auto`, the
 * `width`/`height` attributes keeping the aspect ratio so nothing shifts), and `sizes` says exactly
 * that: `(max-width: Wpx) 100vw, Wpx`.
 */

/** `lazy` for gallery and below-the-fold images; `eager` (with `fetchpriority="high"`) for the main, LCP image. */
export const PICTURE_LOADINGS = ['lazy', 'eager'] as const;
export type PictureLoading = (typeof PICTURE_LOADINGS)[number];

/** Longest `sizes` override accepted: a media-condition list for a handful of breakpoints fits easily. */
export const MAX_SIZES_LENGTH = 512;
/** Longest `alt` text accepted for the snippet. */
export const MAX_ALT_LENGTH = 1000;

/** Choices a merchant makes about the snippet, per run (recipe `picture`) or per request of it. */
export const pictureOptionsSchema = z
  .object({
    loading: z
      .enum(PICTURE_LOADINGS)
      .optional()
      .describe(
        '`lazy` (default) for galleries and images below the fold; `eager` adds `fetchpriority="high"`, for the main product image (LCP).',
      ),
    sizes: z
      .string()
      .min(1)
      .max(MAX_SIZES_LENGTH)
      .regex(/^[^<>"]*$/, 'no <, > or " in sizes')
      .optional()
      .describe(
        "The `sizes` attribute when your page lays the image out otherwise than the snippet does (e.g. `(max-width: 768px) 50vw, 400px`). Default: the snippet's own layout, `(max-width: Wpx) 100vw, Wpx`.",
      ),
  })
  .strict();
export type PictureOptions = z.infer<typeof pictureOptionsSchema>;

/** The style that makes the `<img>` lay out as `sizes` says: at most its width, never wider than its container. */
export const PICTURE_LAYOUT_STYLE = 'max-width:100%;height:auto';

/** `sizes` of an image laid out at most `width` CSS px wide and shrinking with a full-width container. */
export const layoutSizes = (width: number): string => `(max-width: ${width}px) 100vw, ${width}px`;

/** What the manifest says about the snippet: the layout it declares and how to change it. */
export const pictureLayoutSchema = z.object({
  /** CSS px the `<img>` is laid out at, at most (its `width` attribute). */
  width: z.number().int().positive(),
  sizes: z.string(),
  style: z.string(),
  loading: z.enum(PICTURE_LOADINGS),
  /** How to override `sizes`, `style` and `loading`. */
  override: z.string(),
});
export type PictureLayout = z.infer<typeof pictureLayoutSchema>;

const OVERRIDE_HELP =
  'The snippet lays the image out at most `width` CSS px wide, shrinking with its container (`style`), and `sizes` says the same, ' +
  'so the browser fetches the smallest file that is sharp. If your page lays it out otherwise, change both together: ' +
  'your CSS for the layout and `sizes` for its width per viewport (e.g. "(max-width: 768px) 50vw, 400px"). ' +
  '`loading`: `lazy` for galleries and images below the fold; for the main product image use `eager`, which adds fetchpriority="high". ' +
  'Per run: the recipe\'s `picture` ({"loading":"eager","sizes":"..."}); per request: GET /v1/assets/{id}/picture?loading=eager&sizes=...&channel=...&alt=...';

/** One candidate of a srcset, as the manifest lists it. */
export interface PictureCandidate {
  url: string;
  width: number;
  height: number;
  format: OutputFormat;
}

/** Everything {@link pictureHtml} needs of a responsive set (the manifest holds all of it). */
export interface PictureSet {
  srcset: Partial<Record<OutputFormat, string>>;
  fallback: PictureCandidate;
  dominantColor: string;
}

/** Escape a string for a double- or single-quoted HTML attribute value. */
export function escapeHtmlAttr(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The layout the snippet of `set` declares, with `options` applied. */
export function pictureLayout(set: PictureSet, options: PictureOptions = {}): PictureLayout {
  return {
    width: set.fallback.width,
    sizes: options.sizes ?? layoutSizes(set.fallback.width),
    style: PICTURE_LAYOUT_STYLE,
    loading: options.loading ?? 'lazy',
    override: OVERRIDE_HELP,
  };
}

/** The `<picture>` element of a responsive set: a `<source>` per better format, then the fallback `<img>`. */
export function pictureHtml(set: PictureSet, options: PictureOptions & { alt?: string } = {}): string {
  const layout = pictureLayout(set, options);
  const attr = (name: string, value: string | number) => `${name}="${escapeHtmlAttr(String(value))}"`;
  const { fallback } = set;
  const sources = OUTPUT_FORMATS.filter((f) => f !== fallback.format && set.srcset[f]).map(
    (f) => `<source ${attr('type', CONTENT_TYPES[f])} ${attr('srcset', set.srcset[f]!)} ${attr('sizes', layout.sizes)}>`,
  );
  // Eager is for the LCP image: ask for it first and decode it with the frame, not after.
  const loading = layout.loading === 'eager' ? 'loading="eager" fetchpriority="high"' : 'loading="lazy" decoding="async"';
  const img =
    `<img ${attr('src', fallback.url)} ${attr('srcset', set.srcset[fallback.format] ?? `${fallback.url} ${fallback.width}w`)} ${attr('sizes', layout.sizes)} ` +
    `${attr('width', fallback.width)} ${attr('height', fallback.height)} ${attr('alt', options.alt ?? '')} ` +
    `${loading} ${attr('style', `${layout.style};background:${set.dominantColor}`)}>`;
  return `<picture>${sources.join('')}${img}</picture>`;
}
