import { randomUUID } from 'node:crypto';
import { json, startLocalService, type Answer, type LocalService } from './local-service.js';

/** A local stand-in for imgix's purge API, with the URLs it accepted. */
export interface ImgixApi extends LocalService {
  purged: string[];
}

/** imgix's documented purge rate limit, enforced by the local API. */
const PER_SECOND = 10;

/**
 * imgix's Management API purge endpoint as documented (docs.imgix.com/apis/management/purges),
 * on 127.0.0.1: `POST /api/v1/purge`, `Authorization: Bearer <key>` (401 otherwise),
 * `Content-Type: application/vnd.api+json`, body exactly
 * `{ "data": { "attributes": { "url": "<absolute URL>" }, "type": "purges" } }`. Answers 200 with
 * a `purges` resource; 409 for a repeat of the same URL within 10 s; 429 past 10 requests per
 * second (rate-limit violations by the client are recorded).
 */
export async function startImgixApi(options: { apiKey: string }): Promise<ImgixApi> {
  const purged: string[] = [];
  const lastPurge = new Map<string, number>();
  const recent: number[] = [];
  const service = await startLocalService({
    handle(req, ctx): Answer {
      const refuse = (status: number, detail: string) => {
        ctx.violation(detail);
        return json(status, { errors: [{ status: String(status), detail }] });
      };
      if (req.method !== 'POST' || req.target !== '/api/v1/purge') return refuse(404, `no endpoint ${req.method} ${req.target}`);
      const now = Date.now();
      while (recent.length && recent[0]! <= now - 1000) recent.shift();
      recent.push(now);
      if (recent.length > PER_SECOND) return refuse(429, `more than ${PER_SECOND} purge requests in one second`);
      const auth = req.headers.authorization;
      if (!auth?.startsWith('Bearer ')) return refuse(401, 'Authorization must be "Bearer <api key>"');
      if (auth !== `Bearer ${options.apiKey}`) return json(401, { errors: [{ status: '401', detail: 'Unauthorized' }] });
      if (req.headers['content-type'] !== 'application/vnd.api+json') {
        return refuse(415, `Content-Type must be application/vnd.api+json, got ${String(req.headers['content-type'])}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return refuse(400, 'body is not JSON');
      }
      const data = (body as { data?: { type?: unknown; attributes?: { url?: unknown } } }).data;
      const url = data?.attributes?.url;
      const exact =
        Object.keys(body as object).join() === 'data' &&
        data &&
        Object.keys(data).sort().join() === 'attributes,type' &&
        data.type === 'purges' &&
        Object.keys(data.attributes ?? {}).join() === 'url' &&
        typeof url === 'string' &&
        /^https?:\/\/[^/]+\//.test(url);
      if (!exact)
        return refuse(
          400,
          `body must be { data: { attributes: { url }, type: "purges" } }, got ${req.body.toString('utf8').slice(0, 200)}`,
        );
      ctx.target(`url:${url}`);
      const last = lastPurge.get(url);
      lastPurge.set(url, now);
      if (last !== undefined && now - last < 10_000) {
        return json(409, { errors: [{ status: '409', detail: 'Duplicate purge request' }] });
      }
      purged.push(url);
      const id = randomUUID();
      return json(200, { data: { attributes: { purge_id: id }, id, type: 'purges' }, included: [], jsonapi: { version: '1.0' }, meta: {} });
    },
    unavailable: () => json(503, { errors: [{ status: '503', detail: 'Service Unavailable' }] }),
    // imgix documents the 429 but not a Retry-After header.
    throttled: { waitMs: undefined, answer: () => json(429, { errors: [{ status: '429', detail: 'Too Many Requests' }] }) },
  });
  return Object.assign(service, { purged });
}
