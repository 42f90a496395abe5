import { AppError } from '../lib/errors.js';

/**
 * Key and metadata rules shared by every `ObjectStorage` driver, so a key that one driver accepts
 * the other accepts too (the conformance suite checks both reject the same keys).
 *
 * The rules are stricter than S3's on purpose: keys are relative `/`-separated paths whose
 * segments are non-empty, never `.`/`..`, and never start with `.` (the fs driver keeps its
 * sidecars and temp files in that dot namespace), with no backslash, NUL or other control
 * characters. That makes path traversal impossible by construction, whatever the driver does
 * with the key (s3rver, for one, joins keys straight onto a directory path).
 */

/** S3's own limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

// C0 controls and DEL: never legitimate in a key, and NUL truncates paths in native code.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const badKey = (message: string, key: string) => new AppError('BAD_REQUEST', message, { key: key.slice(0, 200) });

function checkSegments(segments: string[], key: string): void {
  for (const s of segments) {
    if (s === '') throw badKey('object key has an empty path segment', key);
    if (s.startsWith('.')) throw badKey('object key segments may not start with "."', key);
  }
}

function checkChars(value: string, what: string): void {
  if (value.startsWith('/')) throw badKey(`${what} must be relative`, value);
  if (value.includes('\\')) throw badKey(`${what} may not contain a backslash`, value);
  if (CONTROL_CHARS.test(value)) throw badKey(`${what} may not contain control characters`, value);
  if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) {
    throw badKey(`${what} is longer than ${MAX_KEY_BYTES} bytes`, value);
  }
  // Lone surrogates cannot be encoded as UTF-8 and would silently become U+FFFD on disk or S3.
  if (LONE_SURROGATE.test(value)) throw badKey(`${what} is not well-formed Unicode`, value);
}

/** Throws AppError 400 BAD_REQUEST unless `key` is a safe object key. */
export function assertObjectKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw badKey('object key is empty', String(key));
  checkChars(key, 'object key');
  checkSegments(key.split('/'), key);
}

/** True when `key` passes {@link assertObjectKey}; drivers use it to skip foreign keys in `list`. */
export function isObjectKey(key: string): boolean {
  try {
    assertObjectKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws AppError 400 BAD_REQUEST unless `prefix` is a safe list prefix: `''` (everything), a
 * directory-like prefix ending in `/`, or one that ends part-way through a segment.
 */
export function assertListPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw badKey('list prefix must be a string', String(prefix));
  if (prefix === '') return;
  checkChars(prefix, 'list prefix');
  const segments = prefix.split('/');
  const last = segments.pop() ?? '';
  checkSegments(segments, prefix);
  if (last.startsWith('.')) throw badKey('list prefix segments may not start with "."', prefix);
}

const META_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
// Printable ASCII only: S3 sends user metadata as HTTP headers.
const META_VALUE = /^[\x20-\x7e]{0,1024}$/;

/**
 * Throws AppError 400 BAD_REQUEST unless every metadata name is lowercase `[a-z0-9-]` (S3
 * lowercases names anyway, so allowing capitals would make drivers disagree) and every value is
 * printable ASCII (S3 carries them as HTTP headers).
 */
export function assertMetadata(metadata: Record<string, string> | undefined): void {
  if (!metadata) return;
  for (const [name, value] of Object.entries(metadata)) {
    if (!META_NAME.test(name)) {
      throw new AppError('BAD_REQUEST', 'metadata names must be lowercase [a-z0-9-]', { name });
    }
    if (typeof value !== 'string' || !META_VALUE.test(value)) {
      throw new AppError('BAD_REQUEST', 'metadata values must be printable ASCII', { name });
    }
  }
}

/** Byte-wise UTF-8 order: the order S3 lists keys in, used by every driver's `list`. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * A storage failure that retrying may fix (network, permissions mid-rotation, a full disk).
 * The cause is kept for logs but is not part of the client-facing body.
 */
export function storageError(operation: string, cause: unknown): AppError {
  const err = new AppError('STORAGE_ERROR', 'object storage is unavailable', { operation });
  err.cause = cause;
  return err;
}
