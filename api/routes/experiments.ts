import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNEL_PATTERN, SKU_PATTERN } from '../../cdn/keys.js';
import { MAX_ALT_LENGTH, pictureHtml, pictureOptionsSchema } from '../../cdn/picture.js';
import { decodeCursor, encodeCursor } from '../../lib/cursor.js';
import { AppError, notFound } from '../../lib/errors.js';
import { assignVariant, cutPoints, VISITOR_ID_PATTERN } from '../../lib/experiment-assignment.js';
import { ExperimentStore } from '../../records/experiment-store.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { createExperiment, createExperimentSchema } from '../experiments/create.js';
import { currentExperiment, transition } from '../experiments/lifecycle.js';
import { promoteVariant } from '../experiments/promote.js';
import { experimentPictureSet, experimentSchema, experimentView, resultsSchema, resultsView } from '../experiments/view.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import { errorBodySchema, idParams } from '../schemas.js';

const errors = Object.fromEntries([404, 409, 422].map((s) => [s, errorBodySchema]));

/** A cursor's position in `GET /v1/experiments`: the last experiment's creation time and id (records/experiment-store.ts). */
const experimentPagePosition = z.string().regex(/^[0-9T:.Z-]{1,40}\|exp_[0-9a-f]{32}$/);

const conversionBody = z
  .object({
    visitorId: z.string().regex(VISITOR_ID_PATTERN),
    event: z.string().min(1).max(128).default('conversion').describe('An order id, say: the same visitor and event count once.'),
    value: z.number().min(0).max(1e9).default(0).describe('Order value, summed per variant.'),
  })
  .strict();

/** Experiments: create (renders every variant as a catalog batch), read, control, measure, promote. */
export function experimentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireTenant(deps.tenants);
  const store = new ExperimentStore(deps.redis, deps.config.workers.queuePrefix);
  const view = (e: Parameters<typeof experimentView>[0]) => experimentView(e, deps.urlFor);
  const current = (request: FastifyRequest) => currentExperiment(deps, store, tenantOf(request), (request.params as { id: string }).id);

  r.post('/v1/experiments', {
    preHandler: [auth, app.idempotent],
    schema: {
      summary: 'Create an experiment: render every variant of every SKU, then split traffic at the edge',
      description:
        'Each variant is a template with params, or a recipe; exactly one is the control. Every variant of every SKU is rendered as one ' +
        'catalog batch to immutable renditions (no stable URL changes); the experiment is live when all are rendered. ' +
        'Its stable URLs (`skus[].url` + `<width>.<ext>`) show each visitor one variant, chosen from the visitor id and the weights.',
      body: createExperimentSchema,
      response: { 202: experimentSchema, ...errors },
    },
    handler: async (request, reply) => reply.code(202).send(view(await createExperiment(deps, store, tenantOf(request), request.body))),
  });

  r.get('/v1/experiments', {
    preHandler: auth,
    schema: {
      summary: "The tenant's experiments, newest first",
      description: 'Pages by cursor: pass `next_cursor` back as `cursor` until it is null.',
      querystring: pageQuery,
      response: { 200: z.object({ experiments: z.array(experimentSchema), next_cursor: nextCursorField }), 400: errorBodySchema },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'experiments', tenantId, experimentPagePosition);
      const page = await store.page(tenantId, after, limit);
      return {
        experiments: await Promise.all(page.items.map(async (e) => view(await currentExperiment(deps, store, tenantId, e.id)))),
        next_cursor: page.next ? encodeCursor('experiments', tenantId, page.next) : null,
      };
    },
  });

  r.get('/v1/experiments/:id', {
    preHandler: auth,
    schema: {
      summary: 'An experiment: state, variants, SKUs and their stable URLs',
      params: idParams,
      response: { 200: experimentSchema, ...errors },
    },
    handler: async (request) => view(await current(request)),
  });

  for (const action of ['pause', 'resume', 'stop'] as const) {
    r.post(`/v1/experiments/:id/${action}`, {
      preHandler: auth,
      schema: {
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} an experiment`,
        description:
          action === 'stop'
            ? 'For good: everyone sees the control, nothing more is counted, and the edge forgets its routing (purged).'
            : action === 'pause'
              ? 'Everyone sees the control and nothing is counted until resumed (the edge routing is purged).'
              : 'Splits traffic again.',
        params: idParams,
        response: { 200: experimentSchema, ...errors },
      },
      handler: async (request) => view(await transition(deps, store, await current(request), action)),
    });
  }

  r.get('/v1/experiments/:id/results', {
    preHandler: auth,
    schema: {
      summary: 'Per-variant impressions, visitors, conversions, rates, lift against the control with 95% intervals, and the verdict',
      params: idParams,
      response: { 200: resultsSchema, ...errors },
    },
    handler: async (request) => {
      const experiment = await current(request);
      return resultsView(
        experiment,
        await store.counts(
          experiment.id,
          experiment.variants.map((v) => v.id),
        ),
      );
    },
  });

  r.post('/v1/experiments/:id/conversions', {
    preHandler: auth,
    schema: {
      summary: 'Record a conversion of a visitor (counted once per visitor and event, only for visitors who saw the experiment)',
      params: idParams,
      body: conversionBody,
      response: {
        200: z.object({
          counted: z.boolean(),
          reason: z.enum(['counted', 'repeat', 'unseen', 'not-live']),
          variant: z.string().nullable(),
        }),
        ...errors,
      },
    },
    handler: async (request) => {
      const experiment = await current(request);
      const index = assignVariant(experiment.id, request.body.visitorId, cutPoints(experiment.variants.map((v) => v.weight)))!;
      const variant = experiment.variants[index]!.id;
      if (experiment.state !== 'live') return { counted: false, reason: 'not-live' as const, variant };
      const { visitorId, event, value } = request.body;
      const reason = await store.recordConversion(experiment.id, variant, visitorId, event, value);
      return { counted: reason === 'counted', reason, variant };
    },
  });

  r.post('/v1/experiments/:id/promote', {
    preHandler: auth,
    schema: {
      summary: "Promote a variant: re-render the SKUs' stable URLs with it (only those that change), then end the experiment",
      params: idParams,
      body: z.object({ variant: z.string().min(1).max(32) }).strict(),
      response: { 200: experimentSchema, ...errors },
    },
    handler: async (request) => view(await promoteVariant(deps, store, await current(request), request.body.variant)),
  });

  r.get('/v1/experiments/:id/picture', {
    preHandler: auth,
    schema: {
      summary: "The <picture> snippet of a SKU's stable experiment URLs",
      params: idParams,
      querystring: pictureOptionsSchema.extend({
        sku: z.string().regex(SKU_PATTERN),
        channel: z.string().regex(CHANNEL_PATTERN).optional(),
        alt: z.string().max(MAX_ALT_LENGTH).optional(),
      }),
      produces: ['text/html'],
      response: { 200: z.string(), ...errors },
    },
    handler: async (request, reply) => {
      const experiment = await current(request);
      const { sku, channel, alt, ...options } = request.query;
      if (!experiment.skus.some((s) => s.sku === sku)) throw new AppError('NOT_FOUND', `SKU ${sku} is not in this experiment`);
      const { picture } = experimentPictureSet(experiment, sku, channel, deps.urlFor);
      if (!picture) throw notFound('Rendered variant');
      return reply.header('content-type', 'text/html; charset=utf-8').send(pictureHtml(picture, { ...options, ...(alt ? { alt } : {}) }));
    },
  });
}
