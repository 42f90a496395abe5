import { answerFailure, send } from './http.js';
import { batchKeys, normalizePurgeRequest, purgeFailed, type CdnInvalidator, type PurgeRequest, type PurgeResult } from './invalidator.js';

/** Options for {@link varnishInvalidator}. */
export interface VarnishInvalidatorOptions {
  /** Where Varnish listens, e.g. `http://varnish:6081`; PURGE and BAN requests go here. */
  url: string;
  /**
   * Purge surrogate keys with `BAN` (a lurker-friendly ban on the stored `xkey` header) instead of
   * xkey's `PURGE`: for a Varnish without varnish-modules. URL purges always use `BAN`.
   */
  banFallback?: boolean;
  /** xkey soft purge (`xkey-soft: 1`): objects go stale and are served in grace while refetched. */
  soft?: boolean;
  /**
   * Most bytes of keys in one `xkey` header. Varnish refuses request headers over
   * `http_req_hdr_len` (8 KiB by default); 4000 leaves room for everything else.
   */
  maxHeaderBytes?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/**
 * Invalidation for a Varnish running cdn/varnish/default.vcl. Surrogate keys are purged in
 * batches with `PURGE` + `xkey: k1 k2 …` (one request for many keys); each URL is banned with
 * `BAN <path?query>`, matching the stored URL exactly. Varnish must list this process's address
 * in its `purgers` ACL; a refusal (403) is reported as a non-retryable `CDN_PURGE_FAILED`.
 */
export function varnishInvalidator(options: VarnishInvalidatorOptions): CdnInvalidator {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`varnishInvalidator: bad url ${options.url}`);
  const origin = base.origin;
  const maxHeaderBytes = options.maxHeaderBytes ?? 4000;
  const keyMethod = options.banFallback ? 'BAN' : 'PURGE';

  return {
    name: 'varnish',
    async purge(req: PurgeRequest, signal?: AbortSignal): Promise<PurgeResult> {
      const { keys, urls } = normalizePurgeRequest(req);
      let requests = 0;
      const call = async (method: string, path: string, headers: Record<string, string>, what: string) => {
        requests++;
        const answer = await send('varnish', origin + path, { method, headers }, { signal, timeoutMs: options.timeoutMs });
        if (answer.status === 501 && method === 'PURGE') {
          throw purgeFailed('varnish', 'PURGE by xkey is not available here (no varnish-modules?); use banFallback', {
            retryable: false,
            status: 501,
          });
        }
        if (answer.status !== 200) throw answerFailure('varnish', what, answer);
      };

      for (const batch of batchKeys(keys, Number.MAX_SAFE_INTEGER, maxHeaderBytes)) {
        const headers: Record<string, string> = { xkey: batch.join(' ') };
        if (options.soft && keyMethod === 'PURGE') headers['xkey-soft'] = '1';
        await call(keyMethod, '/', headers, `${keyMethod} of ${batch.length} surrogate keys`);
      }
      for (const url of urls) {
        // The request target is the object's path and query; bans match the stored URL only, so
        // the public host (and any proxy's Host rewriting) does not matter.
        await call('BAN', url.pathname + url.search, {}, `BAN ${url.pathname}`);
      }
      return { driver: 'varnish', purgedKeys: keys.length, purgedUrls: urls.length, requests };
    },
  };
}
