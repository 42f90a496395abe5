import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';
import { isAdminKey, type TenantStore } from './tenants.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireTenant`: the tenant whose API key signed the request. */
    tenantId?: string;
  }
}

function bearer(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) throw new AppError('UNAUTHORIZED', 'Send an API key as `Authorization: Bearer <key>`.');
  return match[1]!;
}

/** A preHandler that admits tenant keys only and records the tenant on the request. */
export const requireTenant = (tenants: TenantStore) => async (request: FastifyRequest, reply: FastifyReply) => {
  const record = await tenants.resolveKey(bearer(request));
  if (!record) throw new AppError('UNAUTHORIZED', 'Unknown or revoked API key.');
  request.tenantId = record.tenantId;
  // From here on every log line of this request (the completion line too) names the tenant.
  request.log = request.log.child({ tenantId: record.tenantId });
  reply.log = request.log;
};

/** A preHandler that admits the bootstrap admin key only. */
export const requireAdmin = (adminKey: string | undefined) => async (request: FastifyRequest, _reply: FastifyReply) => {
  const key = bearer(request);
  if (!isAdminKey(key, adminKey)) throw new AppError('FORBIDDEN', 'This endpoint needs the admin API key.');
};

/** The tenant of an authenticated request (the preHandler guarantees it). */
export function tenantOf(request: FastifyRequest): string {
  if (!request.tenantId) throw new AppError('UNAUTHORIZED', 'Not authenticated.');
  return request.tenantId;
}
