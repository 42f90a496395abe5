import { once } from 'node:events';
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { Logger } from '../../lib/logger.js';
import type { ApiDeps } from '../deps.js';
import { backpressure } from './backpressure.js';
import { bodyDeadlineHook } from './body-deadline.js';
import { createGuardRedis, withinGuardTimeout } from './guard-redis.js';
import { idempotency } from './idempotency.js';
import { mediaTypeHook } from './media-type.js';
import { jsonDepthHook } from './json-depth.js';
import { rateLimitHook } from './rate-limit.js';

/** How long a starting API waits for the guards' Redis connection before it listens anyway. */
const GUARD_READY_WAIT_MS = 5000;

declare module 'fastify' {
  interface FastifyInstance {
    /** Route-level preHandler for POSTs that create work; list it after the auth preHandler. */
    idempotent: preHandlerAsyncHookHandler;
  }
}

/**
 * Body deadlines, rate limits, backpressure and idempotency keys. Call before the routes are declared: the
 * onRequest guards then run before any body is read, in this order (cheapest refusal first).
 */
export function registerGuards(app: FastifyInstance, deps: ApiDeps, logger: Logger): void {
  const redis = createGuardRedis(deps.redis);
  const prefix = deps.config.workers.queuePrefix;
  const { api } = deps.config;
  const pressure = backpressure({ redis, prefix, maxDepth: api.maxQueueDepth, logger });
  const idem = idempotency({ redis, prefix, logger });

  // First, so a body's deadlines run from its arrival, whatever the guards after it wait on.
  app.addHook('onRequest', bodyDeadlineHook(api.body));
  app.addHook(
    'onRequest',
    rateLimitHook({
      redis,
      prefix,
      perMinute: api.rateLimitPerMinute,
      uploadPerMinute: api.uploadRateLimitPerMinute,
      adminKey: api.adminApiKey,
      logger,
    }),
  );
  app.addHook('onRequest', pressure.hook);
  app.addHook('preParsing', mediaTypeHook);
  app.addHook('onSend', idem.onSend);
  // Before validation and every preHandler: nothing recursive sees a body nested past MAX_JSON_DEPTH.
  app.addHook('preValidation', jsonDepthHook);
  app.decorate('idempotent', idem.preHandler as preHandlerAsyncHookHandler);
  // Listen only once the guards' connection is up (or has had its chance): until then every
  // rate-limit check would fail open, so the first requests after a start went uncounted.
  app.addHook('onReady', async () => {
    if (redis.status === 'ready') return;
    await withinGuardTimeout(once(redis, 'ready'), GUARD_READY_WAIT_MS).catch(() =>
      logger.warn('API starting while the guards cannot reach Redis'),
    );
  });
  app.addHook('onClose', async () => {
    await pressure.close();
    redis.disconnect();
  });
}
