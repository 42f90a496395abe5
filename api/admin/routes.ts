import { createBullBoard } from '@bull-board/api';
import type { IServerAdapter } from '@bull-board/api/typings/app';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { nameTable } from '../../lib/own-keys.js';
import { requireAdmin } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { errorBodySchema } from '../schemas.js';
import { isAdminKey } from '../tenants.js';
import { LOGIN_PAGE } from './login-page.js';
import { adminSessions, readCookie, redisSessionRegistry, SESSION_COOKIE, sessionCookie, type AdminSessions } from './session.js';

/** Where the queue admin view (bull-board) is mounted. */
export const BOARD_PATH = '/admin/queues';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Operator routes: a cookie session for browsers (`POST /admin/session` with the admin key as a
 * Bearer token), a sign-in page that makes that call, and the queue admin view behind either.
 */
export async function adminRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { adminApiKey, adminSessionTtlSeconds: ttl } = deps.config.api;
  // Without an admin key nobody can sign in; a random key keeps the code path the same.
  const sessions = adminSessions(
    adminApiKey ?? crypto.randomUUID(),
    ttl,
    redisSessionRegistry(deps.redis, deps.config.workers.queuePrefix),
  );
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/admin/session', {
    preHandler: requireAdmin(adminApiKey),
    schema: {
      summary: 'Start an admin browser session (admin key only): sets a short-lived signed HttpOnly cookie for /admin',
      response: { 200: z.object({ expiresAt: z.string() }), 401: errorBodySchema, 403: errorBodySchema },
    },
    handler: async (request, reply) => {
      const { value, expiresAt } = await sessions.issue();
      reply.header('set-cookie', sessionCookie(value, ttl, overHttps(request)));
      return { expiresAt: expiresAt.toISOString() };
    },
  });

  r.delete('/admin/session', {
    schema: { summary: 'End the admin browser session: revoked on the server, its cookie cleared', response: { 204: z.null() } },
    handler: async (request, reply) => {
      await sessions.revoke(readCookie(request.headers.cookie, SESSION_COOKIE));
      reply.header('set-cookie', sessionCookie('', 0, overHttps(request)));
      return reply.code(204).send(null);
    },
  });

  app.get('/admin/login', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
      )
      .send(LOGIN_PAGE),
  );

  await app.register(
    async (scope) => {
      scope.addHook('onRequest', boardAuth(sessions, adminApiKey));
      const serverAdapter = new FastifyAdapter();
      serverAdapter.setBasePath(BOARD_PATH);
      createBullBoard({
        queues: Object.values(deps.queues.queues).map((queue) => new BullMQAdapter(queue, { description: describeQueue(queue.name) })),
        // The adapter is built against a patch release of @bull-board/api one behind ours, whose
        // private fields make the types differ; at run time it only stores and calls what it is given.
        serverAdapter: serverAdapter as unknown as IServerAdapter,
        options: { uiConfig: { boardTitle: 'Image pipeline queues' } },
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: BOARD_PATH },
  );
}

const QUEUE_DESCRIPTIONS: Readonly<Record<string, string>> = nameTable({
  inference: 'AI steps: remove-background, upscale (ONNX Runtime)',
  render: 'Responsive sets: decode once, encode every width and format (sharp)',
  publish: 'Stable URLs, manifests and batched CDN purges',
});
const describeQueue = (name: string) => QUEUE_DESCRIPTIONS[name] ?? name;

/**
 * The board's guard: the admin key as a Bearer token (scripts) or a valid session cookie
 * (browsers). Answers itself, in the API's error shape, because the board plugin has its own
 * error handler. A cookie is SameSite=Strict already; a state-changing request that names a
 * foreign Origin is refused as well.
 */
function boardAuth(sessions: AdminSessions, adminKey: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const refuse = (error: AppError) => reply.code(error.status).send(error.toJSON());
    const header = request.headers.authorization;
    if (header) {
      const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      if (!token) return refuse(new AppError('UNAUTHORIZED', 'Send an API key as `Authorization: Bearer <key>`.'));
      if (!isAdminKey(token, adminKey)) return refuse(new AppError('FORBIDDEN', 'The queue admin view needs the admin API key.'));
      return;
    }
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    let valid: boolean;
    try {
      valid = await sessions.verify(cookie);
    } catch {
      // The board has its own error handler: answer here, in the API's shape, and fail closed.
      return refuse(new AppError('SERVICE_UNAVAILABLE', 'The admin session cannot be checked now (Redis); try again shortly.'));
    }
    if (!valid) {
      const why = cookie ? 'The admin session has expired or is invalid.' : 'No admin session.';
      return refuse(new AppError('UNAUTHORIZED', `${why} Sign in at /admin/login, or send the admin key as a Bearer token.`));
    }
    if (!SAFE_METHODS.has(request.method) && !sameOrigin(request)) {
      return refuse(new AppError('FORBIDDEN', 'A state-changing admin request must come from this origin.'));
    }
  };
}

/**
 * Mark the cookie Secure when the browser speaks https to us or to the TLS proxy in front of us.
 * Trusting `X-Forwarded-Proto` here is safe: a false claim only adds Secure, which can only keep
 * the cookie from being sent back over plain http.
 */
function overHttps(request: FastifyRequest): boolean {
  const forwarded = request.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return request.protocol === 'https' || first === 'https';
}

function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return true; // same-origin fetches may omit it; SameSite=Strict still holds the cookie back cross-site
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
