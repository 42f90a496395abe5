import imgixModule from '@imgix/js-core';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { CONTENT_TYPES, OUTPUT_FORMATS, type OutputFormat } from './formats.js';
import { onDemandBase, onDemandUrls, onDemandUrlsSchema, masterVersion, type OnDemandSettings } from './on-demand-manifest.js';
import { pictureHtml, pictureLayout, pictureLayoutSchema, type PictureOptions } from './picture.js';

// @imgix/js-core is CommonJS (`module.exports = ImgixClient`) but its types declare
// `export default`, so under NodeNext TypeScript types the default import as
// `{ default: ImgixClient }` while Node hands us the class itself. Accept either.
type ImgixClientClass = (typeof imgixModule)['default'];
const ImgixClient: ImgixClientClass =
  (imgixModule as unknown as { default?: ImgixClientClass }).default ?? (imgixModule as unknown as ImgixClientClass);

const renditionSchema = z.object({
  key: z.string(),
  url: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  format: z.enum(OUTPUT_FORMATS),
  contentType: z.string(),
  bytes: z.number().int().nonnegative(),
});

/** The responsive parts of one set of renditions: what a storefront needs to show it. */
const responsiveShape = {
  /** Every rendition, grouped by format (best first) then by width, ascending. */
  renditions: z.array(renditionSchema).min(1),
  /** `"<url> 320w, <url> 640w"` per format present. */
  srcset: z.object({ avif: z.string().optional(), webp: z.string().optional(), jpeg: z.string().optional() }),
  /** The `sizes` of the snippet: its declared layout (see `layout`), or the run's override. */
  sizes: z.string(),
  /** The `<img>` fallback: the largest JPEG no wider than 1280 px (else the largest one). */
  fallback: z.object({ url: z.string(), width: z.number(), height: z.number(), format: z.enum(OUTPUT_FORMATS) }),
  /** A ready `<picture>` element, attributes HTML-escaped: right when pasted as is (see `layout`). */
  picture: z.string(),
  /** The layout the snippet declares (width, sizes, style, loading) and how to override it. */
  layout: pictureLayoutSchema,
  placeholder: z.object({ thumbhash: z.string() }),
  dominantColor: z.string().regex(/^#[0-9a-fA-F]{6}$/),
};

/** One sales channel's layout (generate step with `channels`): its own responsive set and stable URLs. */
export const channelManifestSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  ...responsiveShape,
  /** Base of the channel's stable URLs: append `<width>.<avif|webp|jpg>`. */
  latest: z.string(),
  /** imgix URLs of this channel's scene (its published master), when imgix is configured. */
  imgix: z.object({ url: z.string(), srcset: z.string() }).optional(),
  /** This channel's scene at any size through the on-demand endpoint, when its master was published. */
  onDemand: onDemandUrlsSchema.optional(),
});
export type ChannelManifest = z.infer<typeof channelManifestSchema>;

/** The published document of an asset: everything a storefront needs to show it responsively. */
export const assetManifestSchema = z.object({
  version: z.literal(1),
  assetId: z.string(),
  tenantId: z.string(),
  runId: z.string(),
  source: z.object({
    sha256: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    format: z.string(),
    bytes: z.number().int().nonnegative(),
    /** Pinned on-demand URL of the original as uploaded (EXIF applied, metadata stripped): add imgix parameters. */
    onDemand: z.string().optional(),
  }),
  ...responsiveShape,
  createdAt: z.iso.datetime(),
  /**
   * imgix URLs of the run's result (the published lossless master of the top-level set: the
   * cut-out, or the first channel's scene), when imgix is configured. Never the original.
   */
  imgix: z.object({ url: z.string(), srcset: z.string() }).optional(),
  /**
   * The run's result (the same master imgix reads) at any size through the on-demand endpoint
   * (`GET /img/…`, imgix's URL API): a srcset over the endpoint's width ladder and a `<picture>` on it.
   */
  onDemand: onDemandUrlsSchema.optional(),
  /** The scene template the run applied (generate step). */
  template: z.object({ id: z.string(), version: z.string() }).optional(),
  /**
   * Per sales channel, when the run made channel layouts; the top-level renditions are then the
   * first channel's, so clients of the single-layout shape keep working.
   */
  channels: z.record(z.string(), channelManifestSchema).optional(),
});

/** A validated manifest (see {@link assetManifestSchema}). */
export type AssetManifest = z.infer<typeof assetManifestSchema>;

/** One stored rendition, as the render step reports it. */
export interface ManifestRenditionInput {
  key: string;
  width: number;
  height: number;
  format: OutputFormat;
  bytes: number;
}

/** Everything {@link buildManifest} needs. */
export interface BuildManifestInput {
  assetId: string;
  tenantId: string;
  runId: string;
  source: { sha256: string; width: number; height: number; format: string; bytes: number };
  renditions: ManifestRenditionInput[];
  /** ThumbHash, base64. */
  thumbhash: string;
  /** `#rrggbb`. */
  dominantColor: string;
  /** Public URL of a key (see `publicUrlFor`). */
  urlFor: (key: string) => string;
  /**
   * imgix source in front of the bucket; `masterKey` is the path of the top-level set's published
   * master on it (`r/<set>/master.png`), never an original's.
   */
  imgix?: { domain: string; secureToken?: string | undefined; masterKey: string };
  /**
   * The on-demand endpoint, when the manifest offers its URLs: `master` is the top-level set's
   * published master (absent: the result is offered per channel only, the original always).
   */
  onDemand?: OnDemandSettings & { master?: { key: string; width: number; height: number } | undefined };
  /** The run's choices for the `<picture>` snippet (recipe `picture`): loading, a `sizes` override. */
  picture?: PictureOptions;
  /** `alt` text of the `<img>`; empty by default (the storefront usually sets it). */
  alt?: string;
  /** Defaults to now; fixed in tests. */
  createdAt?: Date;
  /** The scene template the run applied. */
  template?: { id: string; version: string };
  /** Channel layouts, in order: the first one's renditions are also the top-level ones. */
  channels?: Array<{
    channel: string;
    width: number;
    height: number;
    renditions: ManifestRenditionInput[];
    thumbhash: string;
    dominantColor: string;
    /** Base URL of the channel's stable copies. */
    latest: string;
    /** Path of the channel's published master, for its imgix URLs. */
    masterKey?: string;
  }>;
}

/** Widest fallback we pick for `<img src>`: wide enough for most layouts, small enough for old browsers. */
const FALLBACK_MAX_WIDTH = 1280;
const IMGIX_PARAMS = { auto: 'format,compress' } as const;

/**
 * Build the manifest of an asset from its stored renditions. Pure: URLs come from `urlFor`,
 * imgix URLs are computed locally (signed when a token is given).
 */
export function buildManifest(input: BuildManifestInput): AssetManifest {
  const main = responsive(input, input.renditions, input.thumbhash, input.dominantColor);
  const manifest: AssetManifest = {
    version: 1,
    assetId: input.assetId,
    tenantId: input.tenantId,
    runId: input.runId,
    source: {
      sha256: input.source.sha256,
      width: input.source.width,
      height: input.source.height,
      format: input.source.format,
      bytes: input.source.bytes,
      ...(input.onDemand ? { onDemand: onDemandBase(input.onDemand, originalSource(input)) } : {}),
    },
    ...main,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    ...(input.imgix ? { imgix: imgixUrls(input.imgix, input.imgix.masterKey, main.renditions, main.fallback.width) } : {}),
    ...(input.onDemand?.master
      ? { onDemand: onDemandFor(input, 'cutout', input.onDemand.master.key, input.onDemand.master, input.dominantColor) }
      : {}),
    ...(input.template ? { template: input.template } : {}),
    ...(input.channels
      ? {
          channels: Object.fromEntries(
            input.channels.map((c) => {
              const set = responsive(input, c.renditions, c.thumbhash, c.dominantColor);
              return [
                c.channel,
                {
                  width: c.width,
                  height: c.height,
                  ...set,
                  latest: c.latest,
                  ...(input.imgix && c.masterKey ? { imgix: imgixUrls(input.imgix, c.masterKey, set.renditions, set.fallback.width) } : {}),
                  ...(input.onDemand && c.masterKey ? { onDemand: onDemandFor(input, c.channel, c.masterKey, c, c.dominantColor) } : {}),
                },
              ];
            }),
          ),
        }
      : {}),
  };
  return assetManifestSchema.parse(manifest);
}

/** Renditions, srcsets, fallback and `<picture>` of one responsive set. */
function responsive(input: BuildManifestInput, stored: ManifestRenditionInput[], thumbhash: string, dominantColor: string) {
  if (stored.length === 0) throw new AppError('INTERNAL', 'cannot build a manifest without renditions');

  const renditions = [...stored]
    .sort((a, b) => OUTPUT_FORMATS.indexOf(a.format) - OUTPUT_FORMATS.indexOf(b.format) || a.width - b.width)
    .map((r) => ({
      key: r.key,
      url: input.urlFor(r.key),
      width: r.width,
      height: r.height,
      format: r.format,
      contentType: CONTENT_TYPES[r.format],
      bytes: r.bytes,
    }));

  const byFormat = new Map<OutputFormat, typeof renditions>();
  for (const r of renditions) {
    const list = byFormat.get(r.format) ?? [];
    // One candidate per width: a srcset with two entries for one width is invalid.
    if (!list.some((x) => x.width === r.width)) list.push(r);
    byFormat.set(r.format, list);
  }
  const srcset: Partial<Record<OutputFormat, string>> = {};
  for (const [format, list] of byFormat) srcset[format] = list.map((r) => `${r.url} ${r.width}w`).join(', ');

  // JPEG is the format every browser decodes; without one, fall back to the most compatible left.
  const fallbackFormat = (['jpeg', 'webp', 'avif'] as const).find((f) => byFormat.has(f))!;
  const candidates = byFormat.get(fallbackFormat)!;
  const fallback = [...candidates].reverse().find((r) => r.width <= FALLBACK_MAX_WIDTH) ?? candidates[candidates.length - 1]!;

  const set = {
    srcset,
    fallback: { url: fallback.url, width: fallback.width, height: fallback.height, format: fallbackFormat },
    dominantColor,
  };
  const layout = pictureLayout(set, input.picture);
  return {
    renditions,
    srcset,
    sizes: layout.sizes,
    fallback: set.fallback,
    picture: pictureHtml(set, { ...input.picture, ...(input.alt ? { alt: input.alt } : {}) }),
    layout,
    placeholder: { thumbhash },
    dominantColor,
  };
}

/** imgix URL and srcset of a published master, at exactly the widths we rendered (so caches line up). */
function imgixUrls(
  imgix: NonNullable<BuildManifestInput['imgix']>,
  masterKey: string,
  renditions: { width: number }[],
  fallbackWidth: number,
): { url: string; srcset: string } {
  const client = new ImgixClient({
    domain: imgix.domain,
    ...(imgix.secureToken ? { secureURLToken: imgix.secureToken } : {}),
    includeLibraryParam: false,
  });
  const widths = [...new Set(renditions.map((r) => r.width))].sort((a, b) => a - b);
  return {
    url: client.buildURL(masterKey, { ...IMGIX_PARAMS, w: fallbackWidth }),
    srcset: client.buildSrcSet(masterKey, { ...IMGIX_PARAMS }, { widths }),
  };
}

/** On-demand URLs of one published master (`cutout` or a channel), pinned to its rendition set. */
function onDemandFor(
  input: BuildManifestInput,
  source: string,
  masterKey: string,
  size: { width: number; height: number },
  dominantColor: string,
) {
  const target = { tenantId: input.tenantId, assetId: input.assetId, source, version: masterVersion(masterKey), ...size };
  return onDemandUrls(input.onDemand!, target, { ...input.picture, ...(input.alt ? { alt: input.alt } : {}), dominantColor });
}

/** The original as an on-demand source, pinned to its sha256. */
const originalSource = (input: BuildManifestInput) => ({
  tenantId: input.tenantId,
  assetId: input.assetId,
  source: 'original',
  version: input.source.sha256,
  width: input.source.width,
  height: input.source.height,
});
