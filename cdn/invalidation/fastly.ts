import { answerFailure, retryAfterMs, send, type HttpAnswer } from './http.js';
import { batchKeys, normalizePurgeRequest, type CdnInvalidator, type PurgeRequest, type PurgeResult } from './invalidator.js';

/** Options for {@link fastlyInvalidator}. */
export interface FastlyInvalidatorOptions {
  serviceId: string;
  /** An API token with the `purge_select` scope. */
  apiToken: string;
  /** Soft purge (`Fastly-Soft-Purge: 1`): mark stale instead of removing, so grace rules apply. */
  soft?: boolean;
  /** `https://api.fastly.com` by default; tests point it at a local server. */
  apiBase?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/** Fastly's documented maximum of surrogate keys in one bulk purge request. */
export const FASTLY_MAX_KEYS_PER_PURGE = 256;
/**
 * Fastly documents no size limit for the `Surrogate-Key` request header; 8 KiB keeps it well
 * inside what HTTP servers accept for one header, at the cost of an extra request now and then.
 */
const MAX_HEADER_BYTES = 8192;

/**
 * How long Fastly asks us to wait: `Retry-After` when present, else the end of the rate-limit
 * window (`Fastly-RateLimit-Reset`, UTC epoch seconds).
 */
function fastlyWait(answer: HttpAnswer, now = Date.now()): number | undefined {
  const after = retryAfterMs(answer.headers, now);
  if (after !== undefined) return after;
  const reset = Number(answer.headers.get('fastly-ratelimit-reset'));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
}

/**
 * Invalidation through Fastly's purge API: surrogate keys with the bulk purge
 * (`POST /service/{id}/purge`, keys in the `Surrogate-Key` header, at most 256 per request) and
 * each URL with `POST /purge/{host}{path}`. Both authenticate with `Fastly-Key`.
 */
export function fastlyInvalidator(options: FastlyInvalidatorOptions): CdnInvalidator {
  const apiBase = (options.apiBase ?? 'https://api.fastly.com').replace(/\/+$/, '');
  if (!options.serviceId || !options.apiToken) throw new Error('fastlyInvalidator: serviceId and apiToken are required');
  const common: Record<string, string> = { 'Fastly-Key': options.apiToken, Accept: 'application/json' };
  if (options.soft) common['Fastly-Soft-Purge'] = '1';

  return {
    name: 'fastly',
    async purge(req: PurgeRequest, signal?: AbortSignal): Promise<PurgeResult> {
      const { keys, urls } = normalizePurgeRequest(req);
      let requests = 0;
      const post = async (url: string, headers: Record<string, string>, what: string) => {
        requests++;
        const answer = await send(
          'fastly',
          url,
          { method: 'POST', headers: { ...common, ...headers } },
          { signal, timeoutMs: options.timeoutMs },
        );
        if (answer.status < 200 || answer.status > 299) throw answerFailure('fastly', what, answer, fastlyWait(answer));
      };

      const keyPurgeUrl = `${apiBase}/service/${encodeURIComponent(options.serviceId)}/purge`;
      for (const batch of batchKeys(keys, FASTLY_MAX_KEYS_PER_PURGE, MAX_HEADER_BYTES)) {
        await post(keyPurgeUrl, { 'Surrogate-Key': batch.join(' ') }, `bulk purge of ${batch.length} surrogate keys`);
      }
      for (const url of urls) {
        // `cached_url` is the URL without its scheme: Fastly purges every scheme's copy.
        await post(`${apiBase}/purge/${url.host}${url.pathname}${url.search}`, {}, `purge of ${url.host}${url.pathname}`);
      }
      return { driver: 'fastly', purgedKeys: keys.length, purgedUrls: urls.length, requests };
    },
  };
}
