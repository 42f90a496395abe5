import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { uploadChecks } from '../upload-checks.js';
import { withTimeout } from '../../lib/deadline.js';

const checkSchema = z.object({ ok: z.boolean(), error: z.string().optional() });
const readySchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({ redis: checkSchema, storage: checkSchema, uploads: checkSchema }),
});

/** Give a dependency this long to answer before /readyz calls it down. */
const CHECK_TIMEOUT_MS = 2000;

export function healthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/healthz', {
    schema: { summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });
  r.get('/readyz', {
    schema: {
      summary: 'Readiness: Redis and storage reachable, and room to check another upload',
      response: { 200: readySchema, 503: readySchema },
    },
    handler: async (_request, reply) => {
      const [redis, storage] = await Promise.all([check(() => deps.redis.ping()), check(() => deps.storage.ping())]);
      const uploads = uploadCapacity();
      const ready = redis.ok && storage.ok && uploads.ok;
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { redis, storage, uploads } });
    },
  });
}

/**
 * A process whose upload checks are all busy and whose waiting line is full refuses the next upload
 * with 503: it is not ready, and saying so lets the load balancer send uploads to another replica
 * (liveness, /healthz, stays green: the process is fine, only busy).
 */
function uploadCapacity(): { ok: boolean; error?: string } {
  const load = uploadChecks.load();
  if (!load.saturated) return { ok: true };
  return {
    ok: false,
    error: `saturated: ${load.running} upload checks running, ${load.waiting} waiting (UPLOAD_CHECK_CONCURRENCY, UPLOAD_CHECK_MAX_WAITING)`,
  };
}

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(probe(), CHECK_TIMEOUT_MS, () => new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`));
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
