import { AppError } from '../../lib/errors.js';

/** What to purge. Rendition keys are content-addressed and never need purging; only mutable objects do. */
export interface PurgeRequest {
  /** Surrogate keys (asset, sku, template, tenant…) the mutable objects were tagged with. */
  surrogateKeys: string[];
  /** Absolute public URLs (`http:`/`https:`) of mutable objects: manifests, stable aliases. */
  urls: string[];
}

/** What a purge did. Counts are after de-duplication. */
export interface PurgeResult {
  driver: string;
  /** Distinct surrogate keys the CDN was asked to purge (0 where the CDN has no surrogate keys). */
  purgedKeys: number;
  /** Distinct URLs the CDN was asked to purge. */
  purgedUrls: number;
  /** HTTP requests (API calls) the driver made, retries included. */
  requests: number;
}

/** Which CDN an invalidator talks to. */
export type InvalidatorName = 'varnish' | 'fastly' | 'cloudfront' | 'imgix' | 'none';

/**
 * The one invalidation interface. Every driver passes `invalidator.conformance.ts`.
 *
 * `purge` resolves only when the CDN accepted every purge it was asked for. Failures are
 * `AppError`s with code `CDN_PURGE_FAILED`: status 503 when retrying later can succeed (the CDN
 * was unreachable, overloaded or throttling; `details.retryAfterMs` when it said how long to
 * wait), 502 when it refused the request (bad credentials, unknown service) and retrying cannot
 * help until someone fixes the configuration. Keys or URLs that no CDN could accept are the
 * caller's bug: `BAD_REQUEST` (400), before any request is sent. An aborted `signal` rejects with
 * `signal.reason`, as `fetch` does. Purges are idempotent, so retrying a whole request after a
 * partial failure is safe.
 */
export interface CdnInvalidator {
  readonly name: InvalidatorName;
  purge(req: PurgeRequest, signal?: AbortSignal): Promise<PurgeResult>;
}

/**
 * Surrogate keys: 1-256 characters from letters, digits and `_ . : / = @ + ~ -`, e.g.
 * `tenant:acme`, `asset:acme:a1`, `template:studio@3`. Narrower than what Fastly accepts
 * (printable ASCII) on purpose: xkey splits on spaces and commas, and Varnish's BAN fallback
 * matches keys inside a regular expression, where this set needs no escaping beyond `.` and `+`.
 */
export const SURROGATE_KEY_PATTERN = /^[A-Za-z0-9_.:/=@+~-]{1,256}$/;

/** A purge request after validation and de-duplication (first occurrence order kept). */
export interface NormalizedPurge {
  keys: string[];
  /** Parsed URLs, de-duplicated by their serialisation (fragment dropped). */
  urls: URL[];
}

const badRequest = (message: string, details: Record<string, unknown>) => new AppError('BAD_REQUEST', message, details);

/** Validate and de-duplicate a purge request. Throws `BAD_REQUEST` naming the first bad entry. */
export function normalizePurgeRequest(req: PurgeRequest): NormalizedPurge {
  if (!req || !Array.isArray(req.surrogateKeys) || !Array.isArray(req.urls)) {
    throw badRequest('a purge request needs surrogateKeys and urls arrays', {});
  }
  const keys = new Set<string>();
  for (const key of req.surrogateKeys) {
    if (typeof key !== 'string' || !SURROGATE_KEY_PATTERN.test(key)) {
      throw badRequest('invalid surrogate key', { key: String(key).slice(0, 80) });
    }
    keys.add(key);
  }
  const urls = new Map<string, URL>();
  for (const raw of req.urls) {
    let url: URL | undefined;
    try {
      url = typeof raw === 'string' ? new URL(raw) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
      throw badRequest('purge URLs must be absolute http(s) URLs without credentials', { url: String(raw).slice(0, 200) });
    }
    url.hash = '';
    if (!urls.has(url.href)) urls.set(url.href, url);
  }
  return { keys: [...keys], urls: [...urls.values()] };
}

/** How a purge failed, for {@link purgeFailed}. */
export interface PurgeFailure {
  /** False when the CDN refused the request and only a configuration change can fix it. */
  retryable: boolean;
  /** The CDN's HTTP status, when it answered. */
  status?: number | undefined;
  /** How long the CDN asked us to wait before trying again. */
  retryAfterMs?: number | undefined;
  /** The CDN's error code or a short excerpt of its answer. */
  reason?: string | undefined;
}

/** The `CDN_PURGE_FAILED` error: 503 when retryable, else 502 (see {@link CdnInvalidator}). */
export function purgeFailed(driver: InvalidatorName, message: string, failure: PurgeFailure): AppError {
  const details: Record<string, unknown> = { driver, retryable: failure.retryable };
  if (failure.status !== undefined) details.cdnStatus = failure.status;
  if (failure.retryAfterMs !== undefined) details.retryAfterMs = Math.max(0, Math.round(failure.retryAfterMs));
  if (failure.reason) details.reason = failure.reason.slice(0, 300);
  return new AppError('CDN_PURGE_FAILED', `${driver}: ${message}`, details, { status: failure.retryable ? 503 : 502 });
}

/** True for a `CDN_PURGE_FAILED` that retrying later can fix (a job should retry with backoff). */
export const isRetryablePurgeFailure = (err: unknown): boolean =>
  err instanceof AppError && err.code === 'CDN_PURGE_FAILED' && err.status === 503;

/** Reject with the signal's reason when it is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/** Split `items` into arrays of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Group keys for space-separated header lists: at most `maxKeys` per group and at most `maxBytes`
 * for the joined header value (keys are ASCII, so characters are bytes).
 */
export function batchKeys(keys: readonly string[], maxKeys: number, maxBytes: number): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const key of keys) {
    const added = (current.length ? 1 : 0) + key.length;
    if (current.length && (current.length >= maxKeys || bytes + added > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    bytes += (current.length ? 1 : 0) + key.length;
    current.push(key);
  }
  if (current.length) out.push(current);
  return out;
}

/** Wait `ms`, rejecting with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
