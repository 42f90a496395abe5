import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor, pageOfSorted } from '../../lib/cursor.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { toRgba } from '../../templates/raster.js';
import { BACKDROP_TYPES, templateIdSchema, templateSchema } from '../../templates/schema.js';
import { decodeSource } from '../../workers/steps/decode.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { renderPreview } from '../template-preview.js';
import { rerenderTemplate } from '../template-rerender.js';
import type { StoredTemplate } from '../../records/template-store.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import { errorBodySchema } from '../schemas.js';
import { checkWritePreconditions, conditionalRead, notModifiedSchema, strongEtag, weaklyMatches, withEtag } from '../conditional.js';

const summarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  version: z.string().describe('sha256 of the canonical JSON: part of every rendition key made with it.'),
  builtin: z.boolean().describe("False for the tenant's own templates (including overrides of a built-in id)."),
  backdrop: z.enum(BACKDROP_TYPES),
});
const detailSchema = summarySchema.extend({ template: templateSchema });
const rerenderSchema = z.object({
  batchId: z
    .string()
    .nullable()
    .describe('The catalog batch re-rendering the assets whose renditions change (GET /v1/batches/:id); null when none do.'),
  assets: z.number().int().describe('Assets whose latest run used the template.'),
  queued: z.number().int().describe('Assets queued again: their renditions change.'),
  unchanged: z.number().int().describe("Assets left alone: their run's params override what changed."),
});
const savedSchema = detailSchema.extend({ rerender: rerenderSchema });
const params = z.object({ id: templateIdSchema });
const putBody = templateSchema
  .extend({ id: templateIdSchema.optional().describe('Defaults to the URL id; must match it when given.') })
  .describe(
    'A template. Unknown fields, colours out of range and impossible layouts are refused with 422 INVALID_TEMPLATE naming the field.',
  );
const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 422: errorBodySchema };

/**
 * A template's strong ETag is its version; a built-in's is marked as one, since an override with the
 * same content has the same version and still reads differently (`builtin: false`).
 */
const templateEtag = (t: StoredTemplate) => strongEtag(t.builtin ? `builtin-${t.version}` : t.version);
/** PUT and DELETE refuse with 412 when If-Match / If-None-Match disagree with the template as it is. */
const preconditionsOf = (request: FastifyRequest) => (current: StoredTemplate | undefined) =>
  checkWritePreconditions(request, current && templateEtag(current));

const summary = (t: StoredTemplate) => ({
  id: t.template.id,
  name: t.template.name,
  description: t.template.description,
  version: t.version,
  builtin: t.builtin,
  backdrop: t.template.backdrop.type,
});

export function templateRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireTenant(deps.tenants);

  r.get('/v1/templates', {
    preHandler: auth,
    schema: {
      summary: 'Scene templates: the built-ins and your own, by id',
      description: 'Pages by cursor: pass `next_cursor` back as `cursor` until it is null.',
      querystring: pageQuery,
      response: { 200: z.object({ templates: z.array(summarySchema), next_cursor: nextCursorField }), ...errors },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'templates', tenantId, templateIdSchema);
      const page = pageOfSorted(await deps.templates.list(tenantId), (t) => t.template.id, after, limit);
      return { templates: page.items.map(summary), next_cursor: page.next ? encodeCursor('templates', tenantId, page.next) : null };
    },
  });

  r.get('/v1/templates/:id', {
    preHandler: auth,
    onSend: conditionalRead,
    schema: { summary: 'One template, in full', params, response: { 200: withEtag(detailSchema), 304: notModifiedSchema, ...errors } },
    handler: async (request, reply) => {
      const t = await deps.templates.get(tenantOf(request), request.params.id);
      if (!t) throw notFound('Template');
      reply.header('etag', templateEtag(t));
      return { ...summary(t), template: t.template };
    },
  });

  r.put('/v1/templates/:id', {
    preHandler: auth,
    // Validation errors reach the handler, which answers 422 naming the field (not a generic 400).
    attachValidation: true,
    schema: {
      summary: 'Create or replace one of your templates (a built-in id makes an override)',
      params,
      body: putBody,
      description:
        'Send the ETag you read as `If-Match` so that a change made since is not overwritten (412 otherwise); `If-None-Match: *` creates only.',
      response: { 200: withEtag(savedSchema), 201: withEtag(savedSchema), 412: errorBodySchema, ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const { stored, created } = await deps.templates.put(tenantId, request.params.id, request.body, preconditionsOf(request));
      reply.header('etag', templateEtag(stored));
      // A changed template re-renders the catalog that uses it (only where renditions change).
      const rerender = await rerenderTemplate(deps, tenantId, stored.template.id);
      return reply.code(created ? 201 : 200).send({ ...summary(stored), template: stored.template, rerender });
    },
  });

  r.post('/v1/templates/:id/rerender', {
    preHandler: auth,
    schema: {
      summary: 'Re-render every asset that uses a template, where its renditions change (e.g. after a built-in changed)',
      params,
      response: { 202: rerenderSchema, ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      if (!(await deps.templates.get(tenantId, request.params.id))) throw notFound('Template');
      return reply.code(202).send(await rerenderTemplate(deps, tenantId, request.params.id));
    },
  });

  r.delete('/v1/templates/:id', {
    preHandler: auth,
    schema: {
      summary: 'Delete one of your templates (a built-in it overrode shows again)',
      description: 'Send the ETag you read as `If-Match` so that a change made since is not deleted unseen (412 otherwise).',
      params,
      response: { 204: z.null(), 412: errorBodySchema, ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      if (!(await deps.templates.delete(tenantId, request.params.id, preconditionsOf(request)))) {
        throw new AppError('NOT_FOUND', `You have no template "${request.params.id}" (built-in templates cannot be deleted).`);
      }
      // Deleting an override brings the built-in back: its users re-render with it.
      await rerenderTemplate(deps, tenantId, request.params.id);
      return reply.code(204).send(null);
    },
  });

  r.get('/v1/templates/:id/preview.png', {
    preHandler: auth,
    schema: {
      summary: 'The template rendered around a sample product (PNG, cached by template version)',
      params,
      produces: ['image/png'],
      response: { 200: z.any().describe('image/png'), ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const t = await deps.templates.get(tenantId, request.params.id);
      if (!t) throw notFound('Template');
      const etag = `"${t.version}"`;
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && weaklyMatches(ifNoneMatch, etag)) return reply.code(304).header('etag', etag).send();
      const backdrop = t.template.backdrop;
      if (backdrop.type === 'generator' && !deps.config.generator) {
        throw new AppError(
          'GENERATOR_NOT_CONFIGURED',
          'This template needs the scene generator, and none is configured here (GENERATOR_MODEL_PATH).',
        );
      }
      let backplate;
      if (backdrop.type === 'backplate' && backdrop.assetId) {
        const asset = await deps.assets.get(tenantId, backdrop.assetId);
        const bytes = asset ? await deps.storage.get(asset.original.key) : undefined;
        if (bytes) backplate = toRgba(await decodeSource(bytes, deps.config.workers.decodeLimits));
      }
      // Built-ins look the same for everyone; a tenant's template (or its backplate) is its own.
      const cacheKey = `${t.builtin ? 'builtin' : tenantId}:${t.template.id}:${t.version}`;
      const png = await renderPreview(t.template, cacheKey, {
        ...(backplate ? { backplate } : {}),
        ...(deps.config.generator ? { generator: deps.config.generator } : {}),
        logger: request.log as unknown as Logger,
      });
      return reply.header('content-type', 'image/png').header('etag', etag).header('cache-control', 'private, max-age=300').send(png);
    },
  });
}
