import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../../lib/cursor.js';
import { AppError, ERROR_CODES, notFound } from '../../lib/errors.js';
import { checkPublicUrl } from '../../lib/safe-fetch.js';
import { newWebhookSecret } from '../../workers/webhooks/signature.js';
import { WEBHOOK_EVENTS, type DeliveryRecord, type WebhookSubscription } from '../../workers/webhooks/types.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import { errorBodySchema } from '../schemas.js';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 422: errorBodySchema, 502: errorBodySchema };

const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  createdAt: z.string(),
});
const failureSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string() });
const deliverySchema = z.object({
  id: z.string(),
  subscriptionId: z.string(),
  eventId: z.string().describe('Sent as `Webhook-Id`; the same on every try and replay, so receivers can drop repeats.'),
  type: z.enum(WEBHOOK_EVENTS),
  state: z.enum(['pending', 'delivering', 'retrying', 'delivered', 'failed', 'cancelled']),
  attempts: z.number().int(),
  lastStatus: z.number().int().optional(),
  lastError: failureSchema.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deliveredAt: z.string().optional(),
  replays: z.number().int(),
  log: z.array(
    z.object({
      attempt: z.number().int(),
      at: z.string(),
      durationMs: z.number(),
      status: z.number().int().optional(),
      error: failureSchema.optional(),
    }),
  ),
  payload: z.unknown().describe('The event body as sent.'),
});
const webhookParams = z.object({ id: z.string().regex(/^whk_[0-9a-f]{32}$/) });
const deliveryParams = z.object({ id: z.string().regex(/^dlv_[0-9a-f]{32}$/) });

/** Cursor positions: a subscription's creation time and id; a delivery's id (its place in the log). */
const subscriptionPosition = z.string().regex(/^[0-9T:.Z-]{1,40}\|whk_[0-9a-f]{32}$/);
const deliveryPosition = deliveryParams.shape.id;

const publicWebhook = ({ secret: _s, tenantId: _t, ...rest }: WebhookSubscription) => rest;
const publicDelivery = ({ body, tenantId: _t, ...rest }: DeliveryRecord) => ({ ...rest, payload: JSON.parse(body) as unknown });

/**
 * Webhook subscriptions per tenant, their delivery log, and replays. Target URLs go through the
 * URL guard here and again at every delivery.
 */
export function webhookRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireTenant(deps.tenants);
  const { store, publisher, guard, config } = deps.connectors;

  r.post('/v1/webhooks', {
    preHandler: [auth, app.idempotent],
    schema: {
      summary: 'Subscribe a URL to events; the signing secret is returned once',
      body: z
        .object({
          url: z.string().max(2048),
          events: z
            .array(z.enum(WEBHOOK_EVENTS))
            .min(1)
            .transform((e) => [...new Set(e)]),
        })
        .strict(),
      response: {
        201: z.object({ webhook: webhookSchema, secret: z.string().describe('Signs every delivery (see docs/webhooks.md). Shown once.') }),
        ...errors,
      },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const url = await checkPublicUrl(request.body.url, guard);
      if ((await store.count(tenantId)) >= config.webhooks.maxPerTenant) {
        throw new AppError('TOO_MANY_WEBHOOKS', `A tenant may have ${config.webhooks.maxPerTenant} webhooks; delete one first.`, {
          maxPerTenant: config.webhooks.maxPerTenant,
        });
      }
      const sub = await store.create({ tenantId, url: url.href, events: request.body.events, secret: newWebhookSecret() });
      return reply.code(201).send({ webhook: publicWebhook(sub), secret: sub.secret });
    },
  });

  r.get('/v1/webhooks', {
    preHandler: auth,
    schema: {
      summary: "The tenant's webhooks (without secrets), oldest first",
      description: 'Pages by cursor: pass `next_cursor` back as `cursor` until it is null.',
      querystring: pageQuery,
      response: { 200: z.object({ webhooks: z.array(webhookSchema), next_cursor: nextCursorField }), ...errors },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'webhooks', tenantId, subscriptionPosition);
      const page = await store.page(tenantId, after, limit);
      return { webhooks: page.items.map(publicWebhook), next_cursor: page.next ? encodeCursor('webhooks', tenantId, page.next) : null };
    },
  });

  r.delete('/v1/webhooks/:id', {
    preHandler: auth,
    schema: {
      summary: 'Delete a webhook; deliveries still waiting are cancelled',
      params: webhookParams,
      response: { 204: z.null(), ...errors },
    },
    handler: async (request, reply) => {
      if (!(await store.delete(tenantOf(request), request.params.id))) throw notFound('Webhook');
      return reply.code(204).send(null);
    },
  });

  r.get('/v1/webhooks/:id/deliveries', {
    preHandler: auth,
    schema: {
      summary: "A webhook's delivery log, newest first",
      description:
        'The last 1000 deliveries are kept (30 days each). Pages by cursor: pass `next_cursor` back as `cursor` until it is null.',
      params: webhookParams,
      querystring: pageQuery,
      response: { 200: z.object({ deliveries: z.array(deliverySchema), next_cursor: nextCursorField }), ...errors },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const sub = await store.get(tenantId, request.params.id);
      if (!sub) throw notFound('Webhook');
      const { limit, cursor } = request.query;
      const scope = `${tenantId}\n${sub.id}`;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'deliveries', scope, deliveryPosition);
      const page = await store.deliveryPage(sub.id, after, limit);
      return { deliveries: page.items.map(publicDelivery), next_cursor: page.next ? encodeCursor('deliveries', scope, page.next) : null };
    },
  });

  r.post('/v1/webhooks/deliveries/:id/replay', {
    preHandler: [auth, app.idempotent],
    schema: {
      summary: 'Send a delivery again: same event id and body, a fresh signature',
      params: deliveryParams,
      response: { 202: deliverySchema, ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const delivery = await store.getTenantDelivery(tenantId, request.params.id);
      if (!delivery || !(await store.get(tenantId, delivery.subscriptionId))) throw notFound('Delivery');
      await publisher.replay(delivery.id);
      const updated = await store.getTenantDelivery(tenantId, delivery.id);
      return reply.code(202).send(publicDelivery(updated ?? delivery));
    },
  });
}
