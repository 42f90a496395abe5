import type { FastifyInstance } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IMMUTABLE_CACHE_CONTROL } from '../../cdn/keys.js';
import { parseImgixParams } from '../../cdn/imgix-params.js';
import { isSignedUrl } from '../../cdn/imgix-signature.js';
import { parseOnDemandPath } from '../../cdn/on-demand-url.js';
import { mutableCacheControl, mutableSurrogateKeys, renditionSurrogateKeys } from '../../cdn/surrogate-keys.js';
import { AppError, notFound } from '../../lib/errors.js';
import { requireTenant, tenantOf } from '../auth.js';
import { notModifiedSchema, weaklyMatches } from '../conditional.js';
import type { ApiDeps } from '../deps.js';
import { OnDemandRenderer, PROVISIONAL_CACHE_CONTROL, provisionalEtag } from '../on-demand/renderer.js';
import { resolveSource } from '../on-demand/resolve-source.js';
import { SigningTokens } from '../on-demand/signing-tokens.js';
import { errorBodySchema } from '../schemas.js';

const IMAGE_TYPES = ['image/avif', 'image/webp', 'image/jpeg', 'image/png'];
const errors = { 400: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 422: errorBodySchema, 503: errorBodySchema };

const DESCRIPTION = [
  "imgix's URL API over an asset's published results. `source`: `cutout` (the default published result), a channel",
  'name (`marketplace`, …) or `original`; `source@<version>` pins a set id (or, for `original`, its sha256) and is',
  'served immutable, the unpinned form follows the latest publish (purged on re-publish). Parameters: `w`, `h`',
  '(output pixels, rounded up to ON_DEMAND_WIDTHS), `fit` (clip, crop, fill, max, min, scale), `crop` (focalpoint with',
  '`fp-x`/`fp-y`, entropy, top/bottom/left/right), `dpr` (≤ 5), `q` (0–100), `fm` (avif, webp, jpg, png), `auto`',
  '(format, compress; format negotiates from `Accept` and answers `Vary: Accept`), `bg`, `fill=solid`, `fill-color`, `pad`, `trim=auto`,',
  '`rect=x,y,w,h`, and `s` (imgix signature: md5 of token + path + query) when the tenant has a signing token.',
  'Anything else, repeated or out of range: 400. Output over MAX_OUTPUT_PIXELS: 400. Saturated: 503 + Retry-After.',
].join(' ');

/** `GET /img/…` (public, behind the CDN) and the tenant's signing-token routes. */
export function onDemandRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tokens = new SigningTokens(deps.storage);
  const { workers, api } = deps.config;
  const renderer = new OnDemandRenderer(
    deps.storage,
    {
      maxInputPixels: workers.decodeLimits.maxPixels,
      maxOutputPixels: workers.maxOutputPixels,
      timeoutSeconds: workers.decodeLimits.timeoutSeconds,
    },
    api.onDemand.pool,
    (err) => app.log.warn({ err }, 'an on-demand transform could not be stored'),
    api.onDemand.provisional,
  );
  const limits = { widths: api.onDemand.widths, maxOutputPixels: workers.maxOutputPixels };
  const registers = [deps.metrics.registry];
  const answers = new Counter({
    name: 'pipeline_on_demand_images_total',
    help: 'On-demand images answered, by how: hit (stored), miss (computed), coalesced (shared with a concurrent request)',
    labelNames: ['cache'],
    registers,
  });
  new Gauge({
    name: 'pipeline_on_demand_transforms',
    help: 'On-demand transforms in this process, running or waiting for a slot',
    labelNames: ['state'],
    registers,
    collect() {
      const load = renderer.load();
      this.set({ state: 'running' }, load.running);
      this.set({ state: 'waiting' }, load.waiting);
    },
  });

  r.get('/img/:tenantId/:assetId/:source', {
    schema: {
      summary: 'An on-demand rendering of a published image (imgix URL API)',
      description: DESCRIPTION,
      params: z.object({ tenantId: z.string(), assetId: z.string(), source: z.string() }),
      produces: IMAGE_TYPES,
      response: { 200: z.any().describe('image/avif, image/webp, image/jpeg or image/png'), 304: notModifiedSchema, ...errors },
    },
    // No refusal may be kept by a CDN or browser: the asset may be published a second later.
    onSend: async (_request, reply, payload) => {
      if (reply.statusCode >= 400) reply.header('cache-control', 'no-store');
      return payload;
    },
    handler: async (request, reply) => {
      const rawUrl = request.raw.url ?? request.url;
      const at = rawUrl.indexOf('?');
      const target = parseOnDemandPath(at < 0 ? rawUrl : rawUrl.slice(0, at));
      if (!target) throw notFound('Image');
      const token = await tokens.get(target.tenantId);
      if (token && !isSignedUrl(token, rawUrl)) {
        throw new AppError('FORBIDDEN', 'This tenant signs its on-demand URLs: the `s` parameter is missing or does not match.');
      }
      const params = parseImgixParams(new URLSearchParams(at < 0 ? '' : rawUrl.slice(at + 1)), limits);
      const source = await resolveSource(deps.storage, target);
      const pinned = target.version !== undefined;
      const { tenantId, assetId } = target;
      const keys = pinned ? renditionSurrogateKeys(tenantId, assetId) : mutableSurrogateKeys(tenantId, assetId);
      const { key, etag } = renderer.locate(source, tenantId, params, request.headers.accept);
      reply.header('cache-control', pinned ? IMMUTABLE_CACHE_CONTROL : mutableCacheControl(deps.takedown.purging)).header('etag', etag);
      if (params.autoFormat && !params.fm) reply.header('vary', 'Accept');
      // A browser revalidating an unpinned URL after its minute gets 304 while the bytes are the same.
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && weaklyMatches(ifNoneMatch, etag) && (await deps.storage.head(key)))
        return reply.code(304).send(null);
      const out = await renderer.render(key, source, params, request.headers.accept, keys);
      answers.inc({ cache: out.cache });
      // A provisional answer (renderer.ts) is kept a minute, under an ETag of its own: after that
      // a cache fetches or revalidates and gets the final bytes, never a 304 for these.
      if (out.provisional)
        reply
          .header('cache-control', PROVISIONAL_CACHE_CONTROL)
          .header('etag', provisionalEtag(etag))
          .header('x-on-demand-provisional', 'true');
      return reply
        .header('content-type', out.contentType)
        .header('content-length', out.size)
        .header('surrogate-key', keys.join(' '))
        .header('x-content-type-options', 'nosniff')
        .header('x-on-demand-cache', out.cache)
        .send(out.body);
    },
  });

  const tokenSchema = z.object({ token: z.string().describe("imgix `secureURLToken`: sign this tenant's /img URLs with it. Shown once.") });
  const tokenErrors = { 401: errorBodySchema };
  r.post('/v1/on-demand/signing-token', {
    preHandler: requireTenant(deps.tenants),
    schema: {
      summary: 'Issue a signing token for your on-demand URLs (replaces any): unsigned URLs are refused from then on',
      response: { 201: tokenSchema, ...tokenErrors },
    },
    handler: async (request, reply) => reply.code(201).send({ token: await tokens.issue(tenantOf(request)) }),
  });
  r.delete('/v1/on-demand/signing-token', {
    preHandler: requireTenant(deps.tenants),
    schema: {
      summary: 'Remove your signing token: on-demand URLs are accepted unsigned again',
      response: { 204: z.null(), ...tokenErrors },
    },
    handler: async (request, reply) => {
      await tokens.remove(tenantOf(request));
      return reply.code(204).send(null);
    },
  });
}
