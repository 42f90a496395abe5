import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../lib/errors.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { conditionalRead, notModifiedSchema, withEtag } from '../conditional.js';
import { errorBodySchema, idParams, runSchema } from '../schemas.js';
import { publicRun } from '../start-run.js';

export function runRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get('/v1/runs/:id', {
    preHandler: requireTenant(deps.tenants),
    onSend: conditionalRead,
    schema: {
      summary: 'State of a run: every step, progress, errors and outputs',
      params: idParams,
      response: { 200: withEtag(runSchema), 304: notModifiedSchema, 401: errorBodySchema, 404: errorBodySchema },
    },
    handler: async (request) => {
      const run = await deps.runs.get(tenantOf(request), request.params.id);
      if (!run) throw notFound('Run');
      return publicRun(run);
    },
  });
}
