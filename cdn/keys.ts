import { canonicalJson, sha256Hex } from '../lib/canonical-json.js';
import { AppError } from '../lib/errors.js';
import type { OutputFormat } from './formats.js';

/**
 * The object key scheme. Every object of a tenant lives under `t/<tenantId>/`:
 *
 * ```
 * t/<tenant>/originals/<sha256>.<ext>            uploaded bytes, content-addressed
 * t/<tenant>/assets/<assetId>/asset.json         the asset record
 * t/<tenant>/assets/<assetId>/manifest.json      the published manifest (mutable)
 * t/<tenant>/assets/<assetId>/published/…       what the asset ever published (private; takedown reads it)
 * t/<tenant>/assets/<assetId>/latest/…           stable copies of the current renditions (mutable)
 * t/<tenant>/sku/<sku>/…                         stable copies under the merchant's SKU (mutable)
 * t/<tenant>/r/<setId>/<width>.<avif|webp|jpg>   renditions, content-addressed, immutable
 * t/<tenant>/r/<setId>/master.png               lossless master of the set's image (imgix source)
 * t/<tenant>/r/<setId>/set.json                  marker written after a whole set
 * t/<tenant>/work/<stepId>.png                   intermediate between steps (private, expirable)
 * ```
 *
 * Ids are checked against strict patterns (no `/`, no dots) so that no id, however it was
 * obtained, can make a key land in another tenant's prefix.
 */

/** Cache-Control for content-addressed objects: their bytes never change under a key. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** Cache-Control for mutable objects (manifests, aliases): short, and purged on change. */
export const MUTABLE_CACHE_CONTROL = 'public, max-age=60, must-revalidate';

const ID = '[A-Za-z0-9][A-Za-z0-9_-]{0,63}';
/** Tenant and asset ids: a letter or digit, then up to 63 letters, digits, `_` or `-`. */
export const ID_PATTERN = new RegExp(`^${ID}$`);
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const EXT_PATTERN = /^[a-z0-9]{1,8}$/;
const MAX_WIDTH = 100_000;

/** File extension of each output format in rendition keys. */
export const FORMAT_EXTENSIONS: Record<OutputFormat, string> = { avif: 'avif', webp: 'webp', jpeg: 'jpg' };

const bad = (message: string, details: Record<string, unknown>) => new AppError('BAD_REQUEST', message, details);

function checkId(kind: 'tenant' | 'asset', id: string): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw bad(`invalid ${kind} id`, { [`${kind}Id`]: String(id).slice(0, 80) });
  return id;
}

function checkSha256(what: string, value: string): string {
  if (typeof value !== 'string' || !SHA256_PATTERN.test(value)) throw bad(`${what} must be 64 lowercase hex characters`, {});
  return value;
}

/** True when `id` is a well-formed tenant or asset id. */
export const isValidId = (id: string): boolean => typeof id === 'string' && ID_PATTERN.test(id);

/** `t/<tenant>/`: the prefix that holds all of a tenant's objects (and only theirs). */
export const tenantPrefix = (tenantId: string): string => `t/${checkId('tenant', tenantId)}/`;

/** True when `key` lies under `tenantId`'s prefix; use it before acting on a key a client sent. */
export const isTenantKey = (tenantId: string, key: string): boolean =>
  isValidId(tenantId) && typeof key === 'string' && key.startsWith(`t/${tenantId}/`);

/** `t/<tenant>/originals/<sha256>.<ext>`: the uploaded bytes, named by their hash. */
export function originalKey(tenantId: string, sha256: string, ext: string): string {
  checkSha256('sha256', sha256);
  if (typeof ext !== 'string' || !EXT_PATTERN.test(ext)) throw bad('invalid file extension', { ext: String(ext).slice(0, 16) });
  return `${tenantPrefix(tenantId)}originals/${sha256}.${ext}`;
}

/** `t/<tenant>/assets/<assetId>/`: the folder of an asset's mutable documents. */
export const assetPrefix = (tenantId: string, assetId: string): string => `${tenantPrefix(tenantId)}assets/${checkId('asset', assetId)}/`;

/** `t/<tenant>/assets/<assetId>/asset.json`. */
export const assetRecordKey = (tenantId: string, assetId: string): string => `${assetPrefix(tenantId, assetId)}asset.json`;

/** A merchant's SKU: letters, digits, `.`, `_`, `-`, up to 64 characters. */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The stable, mutable copies of an asset's current renditions, at URLs a merchant pastes once:
 * `t/<tenant>/assets/<assetId>/latest/` and, when the asset has a SKU, `t/<tenant>/sku/<sku>/`.
 */
export function aliasPrefixes(tenantId: string, assetId: string, sku?: string): string[] {
  return [`${assetPrefix(tenantId, assetId)}latest/`, ...(sku !== undefined ? [skuAliasPrefix(tenantId, sku)] : [])];
}

/** `t/<tenant>/sku/<sku>/`: where the stable copies published under a SKU live. */
export function skuAliasPrefix(tenantId: string, sku: string): string {
  if (typeof sku !== 'string' || !SKU_PATTERN.test(sku)) throw bad('invalid SKU', { sku: String(sku).slice(0, 80) });
  return `${tenantPrefix(tenantId)}sku/${sku}/`;
}

/** Sales-channel names in stable URLs (`latest/<channel>/`): lowercase letters, digits and `-`. */
export const CHANNEL_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** `<alias prefix><channel>/`: where one channel layout's stable copies live. */
export function channelAliasPrefix(prefix: string, channel: string): string {
  if (!CHANNEL_PATTERN.test(channel)) throw bad('invalid channel', { channel: channel.slice(0, 40) });
  return `${prefix}${channel}/`;
}

/** `<alias prefix><width>.<ext>`: the stable URL of one width and format. */
export const aliasKey = (prefix: string, width: number, format: OutputFormat): string => `${prefix}${width}.${FORMAT_EXTENSIONS[format]}`;

/**
 * `t/<tenant>/x/<experimentId>/<sku>/`: the stable experiment URLs of a SKU (`<width>.<ext>`, and
 * `<channel>/<width>.<ext>` per channel). No object lives there: the edge (or the API's origin
 * route) picks a variant per visitor and answers with that variant's immutable rendition.
 */
export function experimentPrefix(tenantId: string, experimentId: string, sku: string): string {
  if (!EXPERIMENT_ID_PATTERN.test(experimentId)) throw bad('invalid experiment id', { experimentId: String(experimentId).slice(0, 80) });
  if (typeof sku !== 'string' || !SKU_PATTERN.test(sku)) throw bad('invalid SKU', { sku: String(sku).slice(0, 80) });
  return `${tenantPrefix(tenantId)}x/${experimentId}/${sku}/`;
}

/** Experiment ids: `exp_` and 32 hex digits. */
export const EXPERIMENT_ID_PATTERN = /^exp_[0-9a-f]{32}$/;

/**
 * `t/<tenant>/assets/<assetId>/published/`: private, empty marker objects, `set/<setId>` and
 * `sku/<sku>`, one per rendition set and SKU the asset has published (see
 * workers/processors/stable-mirror.ts), so a SKU move and a takedown can reach every URL the asset
 * ever had. Markers, not one JSON record: concurrent publishes of one asset only add objects, so
 * nothing is read, changed and written back, and no torn write can make the record unreadable.
 */
export const publicationPrefix = (tenantId: string, assetId: string): string => `${assetPrefix(tenantId, assetId)}published/`;

/** `t/<tenant>/assets/<assetId>/manifest.json`: mutable, served with {@link MUTABLE_CACHE_CONTROL}. */
export const manifestKey = (tenantId: string, assetId: string): string => `${assetPrefix(tenantId, assetId)}manifest.json`;

/** Everything that decides the bytes of a rendition set. */
export interface RenditionSetParts {
  /** sha256 of the source (original) bytes. */
  sourceSha256: string;
  /** The render recipe (widths, formats, steps and their options); any JSON value. */
  recipe: unknown;
  /** Encoder settings version; bump it when encoder options or libvips change output. */
  encoderVersion: string | number;
  /** Version of the scene template, when one was applied. */
  templateVersion?: string | number;
}

/** Bumped if the way ids are derived ever changes, so old and new ids can never collide. */
const SET_ID_SCHEME = 1;

/**
 * The id of a rendition set: sha256 (hex) of the canonical JSON of its parts. Same inputs give the
 * same id whatever the key order of `recipe`; any change of input gives a new id, so rendition
 * keys never need invalidation.
 */
export function renditionSetId(parts: RenditionSetParts): string {
  checkSha256('sourceSha256', parts.sourceSha256);
  const hashed = {
    scheme: SET_ID_SCHEME,
    sourceSha256: parts.sourceSha256,
    recipe: parts.recipe ?? null,
    encoderVersion: parts.encoderVersion,
    templateVersion: parts.templateVersion ?? null,
  };
  return sha256Hex(canonicalJson(hashed));
}

/** `t/<tenant>/r/<setId>/<width>.<ext>`. */
export function renditionKey(tenantId: string, setId: string, width: number, format: OutputFormat): string {
  checkSha256('rendition set id', setId);
  if (!Number.isInteger(width) || width <= 0 || width > MAX_WIDTH) throw bad('invalid rendition width', { width });
  const ext = FORMAT_EXTENSIONS[format];
  if (!ext) throw bad('invalid rendition format', { format: String(format) });
  return `${tenantPrefix(tenantId)}r/${setId}/${width}.${ext}`;
}

/**
 * `t/<tenant>/r/<setId>/master.png`: the set's image (cut-out or channel scene) at full size,
 * lossless, metadata stripped: the public, immutable source imgix URLs point at.
 */
export function renditionMasterKey(tenantId: string, setId: string): string {
  checkSha256('rendition set id', setId);
  return `${tenantPrefix(tenantId)}r/${setId}/master.png`;
}

/** `t/<tenant>/r/<setId>/set.json`: written last, so its presence means the whole set is stored. */
export function renditionSetMarkerKey(tenantId: string, setId: string): string {
  checkSha256('rendition set id', setId);
  return `${tenantPrefix(tenantId)}r/${setId}/set.json`;
}

/**
 * `t/<tenant>/work/<stepId>.png`: an intermediate image between two steps (lossless), named by how
 * it was made. Private; safe to expire with a bucket lifecycle rule, since it can be made again.
 */
export function intermediateKey(tenantId: string, stepId: string): string {
  checkSha256('step id', stepId);
  return `${tenantPrefix(tenantId)}work/${stepId}.png`;
}

/** The id of a step's output: a hash of its input's id, the step, its options and its model. */
export function stepOutputId(parts: { inputId: string; step: string; options: unknown; modelSha256?: string }): string {
  checkSha256('input id', parts.inputId);
  return sha256Hex(canonicalJson({ scheme: 1, ...parts, modelSha256: parts.modelSha256 ?? null }));
}

export const PUBLIC_KEY_PATTERNS: readonly RegExp[] = [
  new RegExp(`^t/${ID}/r/[0-9a-f]{64}/[1-9][0-9]{0,5}\\.(?:avif|webp|jpg)$`),
  // The lossless master imgix reads (no EXIF, made by us), never the original.
  new RegExp(`^t/${ID}/r/[0-9a-f]{64}/master\\.png$`),
  new RegExp(`^t/${ID}/assets/${ID}/manifest\\.json$`),
  new RegExp(`^t/${ID}/assets/${ID}/latest/[1-9][0-9]{0,5}\\.(?:avif|webp|jpg)$`),
  new RegExp(`^t/${ID}/sku/[A-Za-z0-9][A-Za-z0-9._-]{0,63}/(?:[1-9][0-9]{0,5}\\.(?:avif|webp|jpg)|manifest\\.json)$`),
  // Per-channel stable copies (generate step with channels).
  new RegExp(`^t/${ID}/assets/${ID}/latest/[a-z][a-z0-9-]{0,31}/[1-9][0-9]{0,5}\\.(?:avif|webp|jpg)$`),
  new RegExp(`^t/${ID}/sku/[A-Za-z0-9][A-Za-z0-9._-]{0,63}/[a-z][a-z0-9-]{0,31}/[1-9][0-9]{0,5}\\.(?:avif|webp|jpg)$`),
];

/**
 * True for keys an unauthenticated origin may serve: renditions and manifests. Originals (which
 * can carry GPS and other EXIF data), asset records and set markers are never public.
 */
export const isPublicKey = (key: string): boolean => typeof key === 'string' && PUBLIC_KEY_PATTERNS.some((p) => p.test(key));
