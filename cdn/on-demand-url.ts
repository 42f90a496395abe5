import { assetPrefix, CHANNEL_PATTERN, ID_PATTERN, tenantPrefix } from './keys.js';
import { encodeKeyPath } from './public-url.js';

/**
 * On-demand rendering URLs (imgix's URL API over an asset's published results).
 *
 * Shape: `/img/<tenant>/<asset>/<source>[@<version>]?<imgix params>`, where `<source>` is
 * `cutout` (the asset's default published result: the lossless master of its top-level set, i.e.
 * the cut-out, or the first channel's scene when the run made channel layouts), a channel name
 * (`marketplace`, `instagram`, …: that channel's scene), or `original` (the upload as stored,
 * EXIF applied and metadata stripped on output). Without `@<version>` the URL follows the asset's
 * current manifest: mutable, purged on every re-publish. With it, the URL is pinned to one source
 * version — a rendition set id (64 hex, the `<setId>` of `t/<tenant>/r/<setId>/…` keys) for
 * `cutout` and channels, the original's sha256 for `original` — and is served immutable. The
 * query is imgix's (`w`, `h`, `fit`, `fm`, `auto`, …, and `s` when the tenant signs URLs); the
 * path is what imgix signs, so `@imgix/js-core` with `domain` set to the API's host and the path
 * below builds (and signs) working URLs.
 */
export const ON_DEMAND_ROUTE_PREFIX = '/img/';

/** The sources every asset has; any channel name the asset published is one too. */
export const ON_DEMAND_FIXED_SOURCES = ['cutout', 'original'] as const;

/** What an on-demand URL names. */
export interface OnDemandTarget {
  tenantId: string;
  assetId: string;
  /** `cutout`, `original` or a channel name. */
  source: string;
  /** Pin: rendition set id (cutout/channel) or original sha256 (original); 64 lowercase hex. */
  version?: string | undefined;
}

const VERSION_PATTERN = /^[0-9a-f]{64}$/;
const ID = '[A-Za-z0-9][A-Za-z0-9_-]{0,63}';

/**
 * Every path {@link parseOnDemandPath} may accept (query excluded): the edge's public pattern for
 * the /img route (cdn/varnish/public-keys.ts renders it into public-keys.vcl).
 */
export const ON_DEMAND_PATH_PATTERN = new RegExp(`^/img/${ID}/${ID}/(?:cutout|original|[a-z][a-z0-9-]{0,31})(?:@[0-9a-f]{64})?$`);

/** True when `source` is a well-formed on-demand source name (`cutout`, `original`, a channel). */
export const isOnDemandSource = (source: string): boolean =>
  (ON_DEMAND_FIXED_SOURCES as readonly string[]).includes(source) || CHANNEL_PATTERN.test(source);

/** The rendition set id in a rendition or master key (`t/<tenant>/r/<setId>/…`), for pinning. */
export function setIdOfKey(key: string): string | undefined {
  return /^t\/[^/]+\/r\/([0-9a-f]{64})\//.exec(key)?.[1];
}

/**
 * The path of an on-demand URL: `/img/<tenant>/<asset>/<source>[@<version>]`. Throws on ids,
 * sources or versions that could not round-trip through {@link parseOnDemandPath}.
 */
export function onDemandPath(target: OnDemandTarget): string {
  const { tenantId, assetId, source, version } = target;
  if (!ID_PATTERN.test(tenantId) || !ID_PATTERN.test(assetId)) throw new Error('onDemandPath: invalid tenant or asset id');
  if (!isOnDemandSource(source)) throw new Error(`onDemandPath: invalid source ${JSON.stringify(source).slice(0, 40)}`);
  if (version !== undefined && !VERSION_PATTERN.test(version)) throw new Error('onDemandPath: version must be 64 lowercase hex');
  return `${ON_DEMAND_ROUTE_PREFIX}${encodeKeyPath(`${tenantId}/${assetId}/${source}`)}${version ? `@${version}` : ''}`;
}

/** The target a path names, or `undefined` when it is not an on-demand path. */
export function parseOnDemandPath(path: string): OnDemandTarget | undefined {
  const match = /^\/img\/([^/?#]+)\/([^/?#]+)\/([^/?#@]+)(?:@([^/?#]+))?$/.exec(path);
  if (!match) return undefined;
  const [, tenantId = '', assetId = '', source = '', version] = match;
  if (!ID_PATTERN.test(tenantId) || !ID_PATTERN.test(assetId) || !isOnDemandSource(source)) return undefined;
  if (version !== undefined && !VERSION_PATTERN.test(version)) return undefined;
  return { tenantId, assetId, source, ...(version !== undefined ? { version } : {}) };
}

/**
 * Where an on-demand transform is stored, named by the sha256 of its source version, parameters
 * and negotiated format: `t/<tenant>/r/<setId>/od/<hash>` for a set's master, or
 * `t/<tenant>/assets/<assetId>/od/<hash>` for the original. Under its source's folder, so the
 * takedown that removes a set or an asset removes its transforms with it. Private (not in
 * PUBLIC_KEY_PATTERNS): clients reach them only through the /img route.
 */
export function onDemandKey(tenantId: string, source: { setId: string } | { assetId: string }, hash: string): string {
  if (!VERSION_PATTERN.test(hash)) throw new Error('onDemandKey: hash must be 64 lowercase hex');
  if ('setId' in source) {
    if (!VERSION_PATTERN.test(source.setId)) throw new Error('onDemandKey: set id must be 64 lowercase hex');
    return `${tenantPrefix(tenantId)}r/${source.setId}/od/${hash}`;
  }
  return `${assetPrefix(tenantId, source.assetId)}od/${hash}`;
}
