import { Queue } from 'bullmq';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RedisConnection } from '../../lib/redis.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { redisUnavailable, UNAVAILABLE_RETRY_AFTER_S, withinGuardTimeout } from './guard-redis.js';

/** The queue depth is read at most this often; between reads every request uses the cached figure. */
const DEPTH_CACHE_MS = 1000;
/** The queues whose depth means "the workers are behind" (publish is cheap and follows them). */
const WATCHED = ['inference', 'render'] as const;
/** States that are work not done yet. */
const PENDING_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;

/** Routes that create work: `METHOD route-template`. */
export const WORK_ROUTES = new Set(['POST /v1/assets', 'POST /v1/assets/:id/runs', 'POST /v1/assets/from-url']);

export interface BackpressureOptions {
  redis: RedisConnection;
  prefix: string;
  maxDepth: number;
  logger: Logger;
}

export interface Backpressure {
  /** onRequest hook: refuse work-creating requests with 503 before their body is read. */
  hook: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  close(): Promise<void>;
}

type Reading = { depth: number } | { error: unknown };

/** Refused bodies up to this size are read and discarded so the client sees the 503 (a typical photo). */
const DRAIN_MAX_BYTES = 8 * 1024 * 1024;

function drainable(request: FastifyRequest): boolean {
  const length = Number(request.headers['content-length']);
  return Number.isFinite(length) && length <= DRAIN_MAX_BYTES;
}

/**
 * Refuse new work, fast, while the queues are too deep or Redis is unreachable: a 503 the client
 * can retry is better than accepting an upload we cannot enqueue. Runs in onRequest, so a refused
 * upload is never read, stored or enqueued.
 */
export function backpressure(options: BackpressureOptions): Backpressure {
  // Queues on the guard connection: counts fail at once when Redis is down instead of queueing.
  const queues = WATCHED.map((name) => new Queue(name, { connection: options.redis, prefix: options.prefix }));
  for (const q of queues) q.on('error', () => undefined);
  let cached: { at: number; reading: Promise<Reading> } | undefined;

  // One read per second at most, shared by every request in that second (and by a failure too,
  // so an outage does not turn each request into a new round trip).
  const read = (): Promise<Reading> => {
    if (cached && Date.now() - cached.at < DEPTH_CACHE_MS) return cached.reading;
    const reading = withinGuardTimeout(Promise.all(queues.map((q) => q.getJobCounts(...PENDING_STATES))))
      .then((all) => ({ depth: all.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0) }))
      .catch((error: unknown) => ({ error }));
    cached = { at: Date.now(), reading };
    return reading;
  };

  return {
    hook: async (request, reply) => {
      if (!WORK_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) return;
      const reading = await read();
      let error: AppError | undefined;
      if ('error' in reading) {
        options.logger.warn({ err: reading.error }, 'work refused: Redis unavailable');
        error = redisUnavailable();
      } else if (reading.depth > options.maxDepth) {
        error = new AppError('SERVICE_UNAVAILABLE', 'The queues are full; nothing was accepted. Retry later.', {
          retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_S,
        });
      }
      if (!error) return;
      reply.code(503).header('retry-after', UNAVAILABLE_RETRY_AFTER_S);
      // A body we will not read: closing at once makes the client's kernel reset the connection
      // while it is still sending, and the 503 is lost with it. Node discards an unread body of a
      // finished response, so small declared bodies are drained and the 503 arrives; only large
      // or unsized ones cost a closed connection.
      if (!drainable(request)) reply.header('connection', 'close');
      return reply.send(error.toJSON());
    },
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
