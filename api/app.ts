import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ApiDeps } from './deps.js';
import { adminRoutes } from './admin/routes.js';
import { clientErrorHandler, problemDetailsHook, sendError } from './error-shape.js';
import { openapiOptions } from './openapi.js';
import { registerGuards } from './guards/index.js';
import { uploadChecks } from './upload-checks.js';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.js';
import { fastifyTrustProxy } from './trust-proxy.js';
import { assetRoutes } from './routes/assets.js';
import { pictureRoutes } from './routes/picture.js';
import { onDemandRoutes } from './routes/on-demand.js';
import { batchRoutes } from './routes/batches.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { runRoutes } from './routes/runs.js';
import { runEventRoutes } from './routes/run-events.js';
import { dashboardRoutes } from './dashboard/plugin.js';
import { tenantRoutes } from './routes/tenants.js';
import { templateRoutes } from './routes/templates.js';
import { webhookRoutes } from './routes/webhooks.js';
import { experimentRoutes } from './routes/experiments.js';
import { experimentEdgeRoutes } from './routes/experiment-edge.js';

/** Build the HTTP API. Listening and shutdown belong to the caller (`bin/`). */
export async function buildApp(deps: ApiDeps, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: deps.config.api.maxJsonBytes,
    genReqId: requestIdFor,
    // Who the client is behind a load balancer (request.ip, the rate limits' bucket): TRUST_PROXY.
    trustProxy: fastifyTrustProxy(deps.config.api.trustProxy),
    // Errors raised before a route is found (a path id over 100 characters, a bad URL) and by Node's
    // HTTP parser get our shape too.
    frameworkErrors: (err, request, reply) => sendError(err, request, reply),
    clientErrorHandler,
  });
  // A text/plain body is no JSON: 415 on every JSON route, instead of a string the schema refuses with 400.
  app.removeContentTypeParser('text/plain');
  // Echo the request id on every answer, errors included, so a caller can quote it.
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  // Every JSON error answer, whoever sent it, in the one problem-details shape (api/error-shape.ts).
  app.addHook('preSerialization', problemDetailsHook);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(multipart);
  await app.register(swagger, openapiOptions(app));
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.setErrorHandler((err: FastifyError, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new AppError('NOT_FOUND', `No route for ${request.method} ${request.url}`).toJSON()),
  );

  // Route templates (not raw URLs) as labels, so ids never explode the metric's cardinality.
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  registerGuards(app, deps, logger);
  // The process's upload-check pool (api/upload-checks.ts) takes this API's limits; /readyz reports it.
  uploadChecks.configure(deps.config.api.uploadChecks);
  healthRoutes(app, deps);
  tenantRoutes(app, deps);
  assetRoutes(app, deps);
  pictureRoutes(app, deps);
  onDemandRoutes(app, deps);
  runRoutes(app, deps);
  runEventRoutes(app, deps, logger);
  dashboardRoutes(app, deps);
  await adminRoutes(app, deps);
  templateRoutes(app, deps);
  batchRoutes(app, deps);
  ingestRoutes(app, deps);
  webhookRoutes(app, deps);
  experimentRoutes(app, deps);
  experimentEdgeRoutes(app, deps);
  if (deps.storage.name === 'fs') fileRoutes(app, deps);
  return app;
}
