import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNEL_PATTERN, EXPERIMENT_ID_PATTERN, ID_PATTERN, SKU_PATTERN } from '../../cdn/keys.js';
import { mutableCacheControl, surrogateKey } from '../../cdn/surrogate-keys.js';
import { notFound } from '../../lib/errors.js';
import { assignVariant, cutPoints, VISITOR_ID_PATTERN } from '../../lib/experiment-assignment.js';
import { ExperimentStore } from '../../records/experiment-store.js';
import type { ApiDeps } from '../deps.js';
import { currentExperiment } from '../experiments/lifecycle.js';
import { parseRenditionFile, routingFor } from '../experiments/routing.js';
import { visitorOf } from '../experiments/visitor.js';
import { errorBodySchema, idParams } from '../schemas.js';

/** The edge asks for the routing answer of an experiment URL with this header (cdn/varnish/default.vcl). */
export const ROUTING_HEADER = 'x-experiment-route';

/** A 1×1 transparent GIF: the impression beacon's answer. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const impressionBody = z
  .object({
    visitorId: z
      .string()
      .regex(VISITOR_ID_PATTERN)
      .optional()
      .describe('When neither the `X-Visitor-Id` header nor the cookie carries it.'),
    event: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('What was seen (a page view id): counted once per visitor and event. Default: `view`.'),
  })
  .strict();

const countedSchema = z.object({ counted: z.boolean(), variant: z.string().nullable() });

/**
 * What a storefront reaches without a key: the stable experiment URLs (the origin behind the edge,
 * or alone when no CDN is in front) and the impression beacon.
 */
export function experimentEdgeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const store = new ExperimentStore(deps.redis, deps.config.workers.queuePrefix);
  const purging = deps.takedown.purging;

  const serve = async (
    params: { tenantId: string; experimentId: string; sku: string; channel?: string; file: string },
    headers: Record<string, unknown>,
    visitor: (cookie: string | undefined) => string | undefined,
    reply: FastifyReply,
  ) => {
    const { tenantId, experimentId, sku, channel, file } = params;
    const rendition = parseRenditionFile(file);
    if (!ID_PATTERN.test(tenantId) || !EXPERIMENT_ID_PATTERN.test(experimentId) || !SKU_PATTERN.test(sku) || !rendition)
      throw notFound('File');
    if (channel !== undefined && !CHANNEL_PATTERN.test(channel)) throw notFound('File');
    const experiment = await currentExperiment(deps, store, tenantId, experimentId).catch(() => undefined);
    const routing = experiment && routingFor(experiment, sku, channel, rendition);
    // Not rendered yet, failed, or no such rendition: nobody may keep this answer.
    if (!experiment || !routing) return reply.header('cache-control', 'no-store').code(404).send(notFound('File').toJSON());
    if (headers[ROUTING_HEADER] === '1') {
      // The edge's routing answer: cached there until the experiment changes state (purged by key).
      reply
        .header('cache-control', mutableCacheControl(purging))
        .header('surrogate-key', `${surrogateKey.tenant(tenantId)} ${surrogateKey.experiment(tenantId, experimentId)}`)
        .header('x-experiment-id', experiment.id)
        .header('x-experiment-cookie', experiment.visitorCookie ?? '')
        .header('x-experiment-count', routing.variants.length)
        .header('x-experiment-control', routing.control);
      routing.variants.forEach((v, i) => {
        reply
          .header(`x-experiment-cut-${i}`, routing.cuts[i])
          .header(`x-experiment-variant-${i}`, v.id)
          .header(`x-experiment-url-${i}`, new URL(deps.urlFor(v.key)).pathname);
      });
      return reply.code(200).send('');
    }
    const index = assignVariant(experiment.id, visitor(experiment.visitorCookie), routing.cuts) ?? routing.control;
    const chosen = routing.variants[index]!;
    const object = await deps.storage.getStream(chosen.key);
    if (!object) throw notFound('File');
    return (
      reply
        .header('content-type', object.meta.contentType)
        .header('content-length', object.meta.size)
        .header('x-content-type-options', 'nosniff')
        // Per visitor: a browser may keep it a minute; a shared cache must not serve it to others.
        .header('cache-control', 'private, max-age=60')
        .header('vary', 'Cookie, X-Visitor-Id')
        .header('x-experiment-variant', chosen.id)
        .send(object.body)
    );
  };

  const edgeParams = z.object({
    tenantId: z.string(),
    experimentId: z.string(),
    sku: z.string(),
    channel: z.string().optional(),
    file: z.string(),
  });
  for (const path of ['/files/t/:tenantId/x/:experimentId/:sku/:file', '/files/t/:tenantId/x/:experimentId/:sku/:channel/:file']) {
    r.get(path, { schema: { hide: true, params: edgeParams } }, async (request, reply) =>
      serve(request.params, request.headers, (cookie) => visitorOf(request, cookie), reply),
    );
  }

  const countImpression = async (id: string, visitorId: (cookie: string | undefined) => string | undefined, event: string | undefined) => {
    const tenantId = await store.tenantOf(id);
    if (!tenantId) throw notFound('Experiment');
    const experiment = await currentExperiment(deps, store, tenantId, id);
    const visitor = visitorId(experiment.visitorCookie);
    const index = assignVariant(experiment.id, visitor, cutPoints(experiment.variants.map((v) => v.weight)));
    if (experiment.state !== 'live' || index === undefined) return { counted: false, variant: null };
    const variant = experiment.variants[index]!.id;
    return { counted: await store.recordImpression(experiment.id, variant, visitor!, event ?? 'view'), variant };
  };

  r.post('/v1/experiments/:id/impressions', {
    schema: {
      summary: 'Impression beacon: a visitor saw the experiment (no key; counted once per visitor and event)',
      description:
        "The visitor id comes from `X-Visitor-Id`, the experiment's cookie, or `visitorId`. Counted only while the experiment is live; " +
        'the variant is the one the visitor is assigned. Rate-limited per client address like every call.',
      params: idParams,
      body: impressionBody.nullish(),
      response: { 200: countedSchema, 404: errorBodySchema, 422: errorBodySchema },
    },
    handler: async (request) =>
      countImpression(request.params.id, (cookie) => visitorOf(request, cookie, request.body?.visitorId), request.body?.event),
  });

  r.get('/v1/experiments/:id/impression.gif', {
    schema: {
      summary: 'Impression beacon as a 1×1 GIF, for an <img> on the product page (no key)',
      params: idParams,
      querystring: impressionBody,
      produces: ['image/gif'],
      response: { 200: z.any().describe('image/gif'), 404: errorBodySchema, 422: errorBodySchema },
    },
    handler: async (request, reply) => {
      const result = await countImpression(
        request.params.id,
        (cookie) => visitorOf(request, cookie, request.query.visitorId),
        request.query.event,
      );
      return reply
        .header('content-type', 'image/gif')
        .header('cache-control', 'no-store')
        .header('x-experiment-counted', String(result.counted))
        .send(PIXEL);
    },
  });
}
