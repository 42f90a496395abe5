import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { AppError, notFound } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { openRunEventStream, type RunEventStream } from '../run-events.js';
import { errorBodySchema, idParams } from '../schemas.js';
import { publicRun } from '../start-run.js';

/** Seconds a client refused for too many open streams should wait. */
const BUSY_RETRY_AFTER_S = 5;

/**
 * `GET /v1/runs/:id/events`: live progress of a run as server-sent events (see
 * `openRunEventStream`). Open streams end on shutdown so they never hold the server open.
 */
export function runEventRoutes(app: FastifyInstance, deps: ApiDeps, logger: Logger): void {
  const { pollMs, heartbeatSeconds, maxStreams } = deps.config.api.runEvents;
  const open = new Set<RunEventStream>();
  new Gauge({
    name: 'run_event_streams_open',
    help: 'Run event streams (server-sent events) open in this API process',
    registers: [deps.metrics.registry],
    collect() {
      this.set(open.size);
    },
  });
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });

  // Without the zod type provider: its typed reply cannot send a stream. The schema still validates.
  app.get<{ Params: { id: string } }>('/v1/runs/:id/events', {
    preHandler: requireTenant(deps.tenants),
    // A HEAD would open a stream nobody reads.
    exposeHeadRoute: false,
    schema: {
      summary: 'Live progress of a run (server-sent events)',
      description:
        '`text/event-stream`. `event: run` carries the run record (as `GET /v1/runs/:id`) at once and on every change; ' +
        '`event: end` (`{ state, error? }`) follows once the run completed or failed, then the stream ends. ' +
        'Comment lines (`: heartbeat`) keep idle streams open. Authenticate with the `Authorization` header.',
      params: idParams,
      produces: ['text/event-stream'],
      response: { 401: errorBodySchema, 404: errorBodySchema, 503: errorBodySchema },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const runId = request.params.id;
      const run = await deps.runs.get(tenantId, runId);
      if (!run) throw notFound('Run');
      if (open.size >= maxStreams) {
        reply.header('retry-after', BUSY_RETRY_AFTER_S);
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          `This server already serves ${maxStreams} run event streams; retry shortly or poll GET /v1/runs/:id.`,
          { maxStreams },
        );
      }
      const stream = openRunEventStream({
        initial: publicRun(run),
        read: async () => {
          const current = await deps.runs.get(tenantId, runId);
          return current ? publicRun(current) : undefined;
        },
        pollMs,
        heartbeatMs: heartbeatSeconds * 1000,
        logger,
      });
      open.add(stream);
      void stream.closed.then(() => open.delete(stream));
      // The client went away (or the response ended): stop polling at once.
      reply.raw.on('close', stream.close);
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-transform')
        .header('x-accel-buffering', 'no')
        .send(stream.body);
    },
  });
}
