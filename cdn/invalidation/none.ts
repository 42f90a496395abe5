import { normalizePurgeRequest, throwIfAborted, type CdnInvalidator } from './invalidator.js';

/**
 * No CDN in front of the origin (development, or a CDN that only honours `Cache-Control`): purges
 * do nothing and report zeros. Requests are still validated, so a bad key fails here as it would
 * in production.
 */
export function noneInvalidator(): CdnInvalidator {
  return {
    name: 'none',
    async purge(req, signal) {
      throwIfAborted(signal);
      normalizePurgeRequest(req);
      return { driver: 'none', purgedKeys: 0, purgedUrls: 0, requests: 0 };
    },
  };
}
