import { answerFailure, send } from './http.js';
import { normalizePurgeRequest, sleep, type CdnInvalidator, type PurgeRequest, type PurgeResult } from './invalidator.js';

/** Options for {@link imgixInvalidator}. */
export interface ImgixInvalidatorOptions {
  /** A Management API key with the Purge permission. */
  apiKey: string;
  /** `https://api.imgix.com` by default; tests point it at a local server. */
  apiBase?: string;
  /** imgix allows 10 purge requests per second per account; this process stays under it. */
  maxPerSecond?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/** imgix's documented rate limit for the purge endpoint. */
export const IMGIX_PURGES_PER_SECOND = 10;

/**
 * Invalidation through imgix's Management API: one `POST /api/v1/purge` per URL with the JSON:API
 * body `{ data: { attributes: { url }, type: 'purges' } }` and `Authorization: Bearer <key>`.
 *
 * - imgix has no surrogate keys: keys are ignored (`purgedKeys: 0`); pass the URLs of the objects.
 * - A purge removes every derivative (`?w=…`) of the base URL, so query strings are dropped and
 *   URLs that differ only by them are purged once.
 * - A second purge of the same URL within 10 s may answer 409; imgix documents that the purge
 *   still happens, so 409 counts as success (it is what a retried job sees).
 * - Requests are paced to `maxPerSecond` across every purge of this instance; other processes
 *   sharing the key can still push imgix over, which surfaces as a retryable 429.
 */
export function imgixInvalidator(options: ImgixInvalidatorOptions): CdnInvalidator {
  if (!options.apiKey) throw new Error('imgixInvalidator: apiKey is required');
  const endpoint = `${(options.apiBase ?? 'https://api.imgix.com').replace(/\/+$/, '')}/api/v1/purge`;
  const perSecond = options.maxPerSecond ?? IMGIX_PURGES_PER_SECOND;
  /**
   * One entry per recent request: when its answer came (Infinity while in flight). Timing the
   * window from answers, not starts, keeps us inside imgix's window whatever the network delay:
   * imgix received a request before we read its answer.
   */
  const recent: number[] = [];

  const takeSlot = async (signal?: AbortSignal) => {
    for (;;) {
      const now = Date.now();
      for (let i = recent.length - 1; i >= 0; i--) if (recent[i]! <= now - 1000) recent.splice(i, 1);
      if (recent.length < perSecond) {
        recent.push(Infinity);
        return;
      }
      const oldest = Math.min(...recent);
      await sleep(Number.isFinite(oldest) ? oldest + 1000 - now + 1 : 50, signal);
    }
  };
  const releaseSlot = () => {
    const i = recent.indexOf(Infinity);
    if (i >= 0) recent[i] = Date.now();
  };

  return {
    name: 'imgix',
    async purge(req: PurgeRequest, signal?: AbortSignal): Promise<PurgeResult> {
      const { urls } = normalizePurgeRequest(req);
      const bases = [...new Set(urls.map((u) => u.origin + u.pathname))];
      let requests = 0;
      for (const url of bases) {
        await takeSlot(signal);
        requests++;
        const answer = await send(
          'imgix',
          endpoint,
          {
            method: 'POST',
            headers: {
              Authorization: `Bearer ${options.apiKey}`,
              'Content-Type': 'application/vnd.api+json',
              Accept: 'application/vnd.api+json',
            },
            body: JSON.stringify({ data: { attributes: { url }, type: 'purges' } }),
          },
          { signal, timeoutMs: options.timeoutMs },
        ).finally(releaseSlot);
        if ((answer.status < 200 || answer.status > 299) && answer.status !== 409) throw answerFailure('imgix', `purge of ${url}`, answer);
      }
      return { driver: 'imgix', purgedKeys: 0, purgedUrls: bases.length, requests };
    },
  };
}
