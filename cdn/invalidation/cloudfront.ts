import { randomUUID } from 'node:crypto';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { AppError } from '../../lib/errors.js';
import {
  normalizePurgeRequest,
  purgeFailed,
  sleep,
  throwIfAborted,
  type CdnInvalidator,
  type PurgeRequest,
  type PurgeResult,
} from './invalidator.js';

/** Options for {@link cloudfrontInvalidator}. */
export interface CloudFrontInvalidatorOptions {
  distributionId: string;
  /** A configured client (credentials, endpoint); by default one for us-east-1 with the default credential chain. */
  client?: CloudFrontClient;
  /**
   * CloudFront has no surrogate keys. When given, each key is invalidated as these paths (e.g.
   * `asset:acme:a1` → `/t/acme/assets/a1/*`); without it keys are ignored (`purgedKeys: 0`) and
   * only the URLs are invalidated, which is enough when callers pass every mutable object's URL.
   */
  keyPaths?: (key: string) => string[];
  /** Paths in one CreateInvalidation; CloudFront allows 3,000 file paths in progress per distribution. */
  maxPathsPerInvalidation?: number;
  /** Wildcard (`*`) paths in one CreateInvalidation; CloudFront allows 15 in progress. */
  maxWildcardsPerInvalidation?: number;
  /** Backoff while CloudFront answers TooManyInvalidationsInProgress (full jitter, doubling). */
  backoff?: { attempts?: number; baseMs?: number; maxMs?: number };
}

/** CloudFront's documented maximum of file paths in progress per distribution. */
export const CLOUDFRONT_MAX_PATHS_IN_PROGRESS = 3000;
/** CloudFront's documented maximum of wildcard paths in progress per distribution. */
export const CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS = 15;

const isWildcard = (path: string) => path.endsWith('*');

/** Invalidation paths: absolute, no whitespace, `*` only as the last character. */
function checkPath(path: unknown, key: string): string {
  if (typeof path !== 'string' || !/^\/[!-~]*$/.test(path) || path.slice(0, -1).includes('*')) {
    throw new AppError('BAD_REQUEST', 'keyPaths returned an invalid CloudFront path', { key, path: String(path).slice(0, 200) });
  }
  return path;
}

/** Split paths into batches within the per-request path and wildcard limits. */
function batchPaths(paths: string[], maxPaths: number, maxWildcards: number): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let wildcards = 0;
  for (const path of paths) {
    const wild = isWildcard(path);
    if (current.length >= maxPaths || (wild && wildcards >= maxWildcards)) {
      out.push(current);
      current = [];
      wildcards = 0;
    }
    current.push(path);
    if (wild) wildcards++;
  }
  if (current.length) out.push(current);
  return out;
}

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);

/**
 * Invalidation through CloudFront's CreateInvalidation. URLs become paths (path and query of the
 * URL); batches respect the per-distribution limits on paths in progress (3,000 files, 15
 * wildcards) and each gets a unique `CallerReference` (kept across retries of that batch, so a
 * retry after a lost answer cannot create a second invalidation). While CloudFront answers
 * `TooManyInvalidationsInProgress` (other invalidations still running) the driver backs off with
 * full jitter; when that lasts longer than its attempts, the failure is retryable with
 * `retryAfterMs`. `requests` counts CreateInvalidation calls, not the SDK's internal retries.
 */
export function cloudfrontInvalidator(options: CloudFrontInvalidatorOptions): CdnInvalidator {
  if (!options.distributionId) throw new Error('cloudfrontInvalidator: distributionId is required');
  const client = options.client ?? new CloudFrontClient({ region: 'us-east-1' });
  const maxPaths = options.maxPathsPerInvalidation ?? CLOUDFRONT_MAX_PATHS_IN_PROGRESS;
  const maxWildcards = options.maxWildcardsPerInvalidation ?? CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS;
  const attempts = options.backoff?.attempts ?? 6;
  const baseMs = options.backoff?.baseMs ?? 1000;
  const maxMs = options.backoff?.maxMs ?? 30_000;

  const failure = (err: SdkError, what: string) => {
    const status = err.$metadata?.httpStatusCode;
    const name = err.name ?? 'Error';
    const retryable = status === undefined || status === 429 || status >= 500 || THROTTLING.has(name);
    return purgeFailed('cloudfront', `${what} failed: ${name}`, { retryable, status, reason: err.message });
  };

  return {
    name: 'cloudfront',
    async purge(req: PurgeRequest, signal?: AbortSignal): Promise<PurgeResult> {
      const { keys, urls } = normalizePurgeRequest(req);
      const paths = new Set<string>();
      const mapped = options.keyPaths ? keys : [];
      for (const key of mapped) for (const path of options.keyPaths!(key)) paths.add(checkPath(path, key));
      for (const url of urls) paths.add(url.pathname + url.search);

      let requests = 0;
      for (const batch of batchPaths([...paths], maxPaths, maxWildcards)) {
        const command = new CreateInvalidationCommand({
          DistributionId: options.distributionId,
          InvalidationBatch: { CallerReference: randomUUID(), Paths: { Quantity: batch.length, Items: batch } },
        });
        for (let attempt = 1; ; attempt++) {
          throwIfAborted(signal);
          requests++;
          try {
            await client.send(command, signal ? { abortSignal: signal } : {});
            break;
          } catch (err) {
            if (signal?.aborted) throw signal.reason;
            const e = err as SdkError;
            if (e.name !== 'TooManyInvalidationsInProgress') throw failure(e, `CreateInvalidation of ${batch.length} paths`);
            const cap = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
            if (attempt >= attempts) {
              throw purgeFailed('cloudfront', `still too many invalidations in progress after ${attempt} attempts`, {
                retryable: true,
                status: e.$metadata?.httpStatusCode,
                retryAfterMs: maxMs,
                reason: e.message,
              });
            }
            // Full jitter: workers that collided on the limit should not retry in lockstep.
            await sleep(Math.random() * cap, signal);
          }
        }
      }
      return { driver: 'cloudfront', purgedKeys: mapped.length, purgedUrls: urls.length, requests };
    },
  };
}
