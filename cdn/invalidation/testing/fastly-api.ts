import { randomUUID } from 'node:crypto';
import { json, startLocalService, type Answer, type LocalService } from './local-service.js';

/** One purge the local Fastly API accepted. */
export interface FastlyPurgeLogEntry {
  kind: 'keys' | 'url';
  /** Surrogate keys of a bulk purge, or the `cached_url` of a URL purge. */
  keys?: string[];
  cachedUrl?: string;
  soft: boolean;
}

/** A local stand-in for Fastly's purge API, with what it accepted. */
export interface FastlyApi extends LocalService {
  log: FastlyPurgeLogEntry[];
}

/** How long the local API's rate-limit answer asks clients to wait. */
export const FASTLY_THROTTLE_WAIT_MS = 30_000;

/**
 * Fastly's purge API as documented (fastly.com/documentation/reference/api/purging/), on
 * 127.0.0.1:
 * - `POST /service/{service_id}/purge` with `Surrogate-Key: k1 k2 …`: at most 256 keys, each
 *   printable ASCII (0x21-0x7E); answers 200 with `{ "<key>": "<purge id>", … }`.
 * - `POST /purge/{cached_url}` (the URL without its scheme): answers `{ "status": "ok", "id": … }`.
 * - Both need `Fastly-Key` (401 when wrong); `Fastly-Soft-Purge`, when sent, must be `1`.
 * - Rate limiting: 429 with `Fastly-RateLimit-Remaining: 0` and `Fastly-RateLimit-Reset` (epoch s).
 * Anything else is recorded as a violation and refused.
 */
export async function startFastlyApi(options: { serviceId: string; apiToken: string }): Promise<FastlyApi> {
  const log: FastlyPurgeLogEntry[] = [];
  const service = await startLocalService({
    handle(req, ctx): Answer {
      const refuse = (status: number, message: string) => {
        ctx.violation(message);
        return json(status, { msg: message });
      };
      if (req.method !== 'POST') return refuse(405, `method ${req.method}; purges are POST`);
      const token = req.headers['fastly-key'];
      if (token === undefined) return refuse(401, 'no Fastly-Key header');
      if (token !== options.apiToken) return json(401, { msg: 'Provided credentials are missing or invalid' });
      const softHeader = req.headers['fastly-soft-purge'];
      if (softHeader !== undefined && softHeader !== '1') return refuse(400, `Fastly-Soft-Purge must be 1, got ${String(softHeader)}`);
      const soft = softHeader === '1';

      const bulk = /^\/service\/([^/?]+)\/purge$/.exec(req.target);
      if (bulk) {
        if (decodeURIComponent(bulk[1]!) !== options.serviceId) return json(404, { msg: 'Record not found' });
        if (req.body.length) return refuse(400, 'keys go in the Surrogate-Key header; the body must be empty');
        const header = req.headers['surrogate-key'];
        if (typeof header !== 'string' || !header) return refuse(400, 'no Surrogate-Key header');
        const keys = header.split(' ');
        if (keys.length > 256) return refuse(400, `${keys.length} keys in one bulk purge; the limit is 256`);
        const badKey = keys.find((k) => !/^[\x21-\x7e]{1,1024}$/.test(k));
        if (badKey !== undefined) return refuse(400, `bad surrogate key ${JSON.stringify(badKey)}`);
        ctx.target(...keys.map((k) => `key:${k}`));
        log.push({ kind: 'keys', keys, soft });
        return json(200, Object.fromEntries(keys.map((k) => [k, randomUUID()])));
      }
      const single = /^\/purge\/(.+)$/.exec(req.target);
      if (single) {
        const cachedUrl = single[1]!;
        if (/^https?(:|%3A)/i.test(cachedUrl)) return refuse(400, 'cached_url must not include the scheme');
        if (!/^[a-z0-9.-]+(:\d+)?\//i.test(cachedUrl)) return refuse(400, `cached_url must be host/path, got ${cachedUrl}`);
        ctx.target(`url:${cachedUrl}`);
        log.push({ kind: 'url', cachedUrl, soft });
        return json(200, { status: 'ok', id: randomUUID() });
      }
      return refuse(404, 'no such endpoint');
    },
    unavailable: () => json(503, { msg: 'Service Unavailable' }),
    throttled: {
      waitMs: FASTLY_THROTTLE_WAIT_MS,
      answer: () =>
        json(
          429,
          { msg: 'You have exceeded your hourly rate limit.' },
          {
            'fastly-ratelimit-remaining': '0',
            'fastly-ratelimit-reset': String(Math.ceil((Date.now() + FASTLY_THROTTLE_WAIT_MS) / 1000)),
          },
        ),
    },
  });
  return Object.assign(service, { log });
}
