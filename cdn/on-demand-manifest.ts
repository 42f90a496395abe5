import imgixModule from '@imgix/js-core';
import { z } from 'zod';
import { onDemandPath, setIdOfKey } from './on-demand-url.js';
import { pictureHtml, type PictureOptions, type PictureSet } from './picture.js';

// CommonJS under NodeNext: the default import is the class or `{ default: class }` (see manifest.ts).
type ImgixClientClass = (typeof imgixModule)['default'];
const ImgixClient: ImgixClientClass =
  (imgixModule as unknown as { default?: ImgixClientClass }).default ?? (imgixModule as unknown as ImgixClientClass);

/**
 * The on-demand URLs a manifest offers beside its pre-rendered renditions: the same published
 * result at any width, crop or format through `GET /img/…` (imgix's URL API). Every URL is pinned
 * to the source version the manifest describes, so each is served immutable and a re-publish
 * (which rewrites the manifest) points at new URLs instead of purging old ones.
 */
export const onDemandUrlsSchema = z.object({
  /** Pinned URL without a query: add imgix parameters (and sign them with js-core when the tenant signs URLs). */
  base: z.string(),
  /** The `<img src>` fallback: `auto=format`, the fallback width. */
  url: z.string(),
  /** imgix-style srcset (`auto=format`, negotiated from `Accept`) at each width of the endpoint's ladder up to the source's width. */
  srcset: z.string(),
  /** Widths the srcsets list, ascending. */
  widths: z.array(z.number().int().positive()).min(1),
  /** One srcset per explicit format (`fm=avif|webp|jpg`): what the `<picture>` is built of. */
  formatSrcset: z.object({ avif: z.string(), webp: z.string(), jpeg: z.string() }),
  /** The `<img>` fallback of the `<picture>`: JPEG at the widest ladder width up to 1280 px. */
  fallback: z.object({ url: z.string(), width: z.number(), height: z.number(), format: z.literal('jpeg') }),
  /** A `<picture>` on on-demand URLs: AVIF and WebP `<source>`s, a JPEG `<img>`; same layout as the pre-rendered snippet. */
  picture: z.string(),
});
export type OnDemandUrls = z.infer<typeof onDemandUrlsSchema>;

/** What the manifest builder knows about the endpoint, per tenant. */
export interface OnDemandSettings {
  /** Where clients reach `/img/` (scheme, host, port; no trailing slash), e.g. `https://img.example.com`. */
  baseUrl: string;
  /** The tenant's signing token: every URL offered is then signed (imgix's `s=`). */
  token?: string | undefined;
  /** The endpoint's width ladder (ascending): srcset widths, so each one is a cache entry the endpoint keeps. */
  widths: readonly number[];
}

/** One published source of an asset: `cutout`, a channel name or `original`, with its version pin and size. */
export interface OnDemandSource {
  tenantId: string;
  assetId: string;
  source: string;
  /** Rendition set id (from a master key) or, for `original`, its sha256. */
  version: string;
  width: number;
  height: number;
}

/** Same threshold as the pre-rendered fallback (manifest.ts): sharp on most layouts, light for old browsers. */
const FALLBACK_MAX_WIDTH = 1280;
/** The host js-core builds URLs on; replaced by the base URL (js-core refuses a port or a scheme in `domain`). */
const PLACEHOLDER_HOST = 'on-demand.invalid';

/** The version pin of a published master, from its key (`t/<tenant>/r/<setId>/master.png`). */
export function masterVersion(masterKey: string): string {
  const setId = setIdOfKey(masterKey);
  if (!setId) throw new Error(`not a rendition set key: ${masterKey}`);
  return setId;
}

/** Widths of the ladder a source can fill (never wider than itself), or its own width when the ladder starts above it. */
export function srcsetWidths(ladder: readonly number[], sourceWidth: number): number[] {
  const fit = [...new Set(ladder)].filter((w) => w <= sourceWidth).sort((a, b) => a - b);
  return fit.length > 0 ? fit : [Math.min(sourceWidth, ...ladder)];
}

/** URL builder for one source: js-core (so signing is exactly what clients do), rebased on `baseUrl`. */
function urlBuilder(settings: OnDemandSettings, source: OnDemandSource) {
  const client = new ImgixClient({
    domain: PLACEHOLDER_HOST,
    includeLibraryParam: false,
    ...(settings.token ? { secureURLToken: settings.token } : {}),
  });
  const path = onDemandPath({ tenantId: source.tenantId, assetId: source.assetId, source: source.source, version: source.version });
  const origin = settings.baseUrl.replace(/\/+$/, '');
  const rebase = (url: string) => origin + url.slice(`https://${PLACEHOLDER_HOST}`.length);
  return {
    base: origin + path,
    url: (params: Record<string, string | number>) => rebase(client.buildURL(path, params)),
    srcset: (params: Record<string, string | number>, widths: number[]) =>
      client.buildSrcSet(path, params, { widths }).split(',\n').map(rebase).join(', '),
  };
}

/** The `<picture>` input of a set's on-demand URLs (the manifest's or the API's snippet: one builder for both). */
export const onDemandPictureSet = (urls: Pick<OnDemandUrls, 'formatSrcset' | 'fallback'>, dominantColor: string): PictureSet => ({
  srcset: urls.formatSrcset,
  fallback: urls.fallback,
  dominantColor,
});

/** The base URL alone: for sources a manifest offers without a srcset (the original). */
export const onDemandBase = (settings: OnDemandSettings, source: OnDemandSource): string => urlBuilder(settings, source).base;

/** Every on-demand URL of one source, the `<picture>` laid out as the pre-rendered one (`options`). */
export function onDemandUrls(
  settings: OnDemandSettings,
  source: OnDemandSource,
  options: PictureOptions & { alt?: string; dominantColor: string },
): OnDemandUrls {
  const build = urlBuilder(settings, source);
  const widths = srcsetWidths(settings.widths, source.width);
  const fallbackWidth = [...widths].reverse().find((w) => w <= FALLBACK_MAX_WIDTH) ?? widths[0]!;
  const fallbackHeight = Math.max(1, Math.round((fallbackWidth * source.height) / source.width));
  // An explicit `fm` per <source>: each URL is one cache entry at the edge, no `Vary: Accept` needed.
  const formatSrcset = {
    avif: build.srcset({ fm: 'avif' }, widths),
    webp: build.srcset({ fm: 'webp' }, widths),
    jpeg: build.srcset({ fm: 'jpg' }, widths),
  };
  const fallback = {
    url: build.url({ fm: 'jpg', w: fallbackWidth }),
    width: fallbackWidth,
    height: fallbackHeight,
    format: 'jpeg' as const,
  };
  const { dominantColor, ...pictureOptions } = options;
  return {
    base: build.base,
    url: build.url({ auto: 'format', w: fallbackWidth }),
    srcset: build.srcset({ auto: 'format' }, widths),
    widths,
    formatSrcset,
    fallback,
    picture: pictureHtml(onDemandPictureSet({ formatSrcset, fallback }, dominantColor), pictureOptions),
  };
}
