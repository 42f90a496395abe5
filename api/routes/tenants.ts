import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isValidId } from '../../cdn/keys.js';
import { decodeCursor, encodeCursor, pageOfSorted } from '../../lib/cursor.js';
import { notFound } from '../../lib/errors.js';
import { scheduleTenantDeletion } from '../../workers/tenant-jobs.js';
import { requireAdmin } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import { errorBodySchema, idParams } from '../schemas.js';

const tenantSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });
const issuedKeySchema = z.object({
  key: z.string().describe('The API key. Shown once: only its hash is stored.'),
  keyId: z.string(),
  tenantId: z.string(),
});
const keySchema = z.object({ keyId: z.string(), tenantId: z.string(), createdAt: z.string(), hint: z.string().optional() });
const keyParams = z.object({ id: z.string().min(1).max(128), keyId: z.string().min(1).max(64) });
/** A cursor's position in a tenant's key list: the last key's creation time and id. */
const keyPosition = z
  .string()
  .max(200)
  .regex(/^[^|]+\|[^|]+$/);
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema };
const deletionSchema = z.object({
  tenantId: z.string(),
  state: z
    .enum(['queued', 'running', 'completed', 'failed'])
    .describe(
      'queued: waits for a publish worker; running: removing (retried with backoff); completed; failed: out of retries (DELETE again)',
    ),
  requestedAt: z.string(),
  updatedAt: z.string(),
  attempts: z.number().int(),
  removed: z.number().int().optional().describe('Objects removed, once completed.'),
  cancelledRuns: z.number().int().optional(),
  error: z.string().optional().describe('The last failure, while retrying or once failed.'),
});
const deletionPath = (tenantId: string) => `/v1/tenants/${tenantId}/deletion`;

export function tenantRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireAdmin(deps.config.api.adminApiKey);

  r.post('/v1/tenants', {
    preHandler: [admin, app.idempotent],
    schema: {
      summary: 'Create a tenant and its first API key (admin key only)',
      body: z.object({ name: z.string().min(1).max(200) }).strict(),
      response: { 201: z.object({ tenant: tenantSchema, apiKey: issuedKeySchema }), ...errors },
    },
    handler: async (request, reply) => {
      const tenant = await deps.tenants.createTenant(request.body.name);
      const { key, record } = await deps.tenants.createKey(tenant.id);
      return reply.code(201).send({ tenant, apiKey: { key, keyId: record.keyId, tenantId: tenant.id } });
    },
  });

  r.post('/v1/tenants/:id/keys', {
    preHandler: [admin, app.idempotent],
    schema: {
      summary: 'Issue another API key for a tenant (admin key only)',
      params: idParams,
      response: { 201: issuedKeySchema, ...errors },
    },
    handler: async (request, reply) => {
      // A key issued during the deletion would give access back to what is being removed.
      if (await deps.tenantDeletions.isDeleting(request.params.id)) throw notFound('Tenant');
      const { key, record } = await deps.tenants.createKey(request.params.id);
      return reply.code(201).send({ key, keyId: record.keyId, tenantId: record.tenantId });
    },
  });

  r.get('/v1/tenants/:id/keys', {
    preHandler: admin,
    schema: {
      summary: "List a tenant's API keys (ids and hints only; admin key only), oldest first",
      description: 'Pages by cursor: pass `next_cursor` back as `cursor` until it is null.',
      params: idParams,
      querystring: pageQuery,
      response: { 200: z.object({ keys: z.array(keySchema), next_cursor: nextCursorField }), ...errors },
    },
    handler: async (request) => {
      const tenantId = request.params.id;
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'keys', tenantId, keyPosition);
      const page = pageOfSorted(await deps.tenants.listKeys(tenantId), (k) => `${k.createdAt}|${k.keyId}`, after, limit);
      return { keys: page.items, next_cursor: page.next ? encodeCursor('keys', tenantId, page.next) : null };
    },
  });

  r.post('/v1/tenants/:id/keys/:keyId/rotate', {
    preHandler: [admin, app.idempotent],
    schema: {
      summary: 'Replace an API key: a new key is issued and the old one revoked (admin key only)',
      params: keyParams,
      response: { 201: issuedKeySchema, ...errors },
    },
    handler: async (request, reply) => {
      const { key, record } = await deps.tenants.rotateKey(request.params.id, request.params.keyId);
      return reply.code(201).send({ key, keyId: record.keyId, tenantId: record.tenantId });
    },
  });

  r.delete('/v1/tenants/:id', {
    preHandler: admin,
    schema: {
      summary: 'Delete a tenant and take down everything it published (admin key only)',
      description:
        'Revokes its API keys within the request (its access ends at once), then queues the removal: every asset taken ' +
        "down as `DELETE /v1/assets/:id` does, everything else under the tenant's prefix removed, its `tenant:` surrogate " +
        'key purged, then the tenant record deleted. Answers 202 with `Location: /v1/tenants/{id}/deletion`, where the ' +
        'removal can be followed; a repeated DELETE while it waits or runs adds nothing and answers 202 again. Once the ' +
        'deletion has completed, DELETE answers 204 (idempotent).',
      params: idParams,
      response: { 202: deletionSchema, 204: z.null(), ...errors },
    },
    handler: async (request, reply) => {
      const tenantId = request.params.id;
      if (!isValidId(tenantId)) throw notFound('Tenant');
      const previous = await deps.tenantDeletions.get(tenantId);
      if (previous?.state === 'completed' && !(await deps.tenants.getTenant(tenantId))) return reply.code(204).send(null);
      await deps.tenants.revokeAllKeys(tenantId);
      const deletion = await deps.tenantDeletions.request(tenantId, previous);
      await scheduleTenantDeletion(deps.queues, tenantId);
      request.log.info({ tenantId }, 'tenant deletion queued');
      return reply.code(202).header('location', deletionPath(tenantId)).send(deletion);
    },
  });

  r.get('/v1/tenants/:id/deletion', {
    preHandler: admin,
    schema: {
      summary: "Where a tenant's deletion stands (admin key only)",
      description: 'Kept 30 days after the deletion ended. 404: no deletion was asked for this tenant.',
      params: idParams,
      response: { 200: deletionSchema, ...errors },
    },
    handler: async (request) => {
      const deletion = isValidId(request.params.id) ? await deps.tenantDeletions.get(request.params.id) : undefined;
      if (!deletion) throw notFound('Tenant deletion');
      return deletion;
    },
  });

  r.delete('/v1/tenants/:id/keys/:keyId', {
    preHandler: admin,
    schema: { summary: 'Revoke an API key at once (admin key only)', params: keyParams, response: { 204: z.null(), ...errors } },
    handler: async (request, reply) => {
      await deps.tenants.revokeKey(request.params.id, request.params.keyId);
      return reply.code(204).send(null);
    },
  });
}
