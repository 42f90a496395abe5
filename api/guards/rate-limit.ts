import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RedisConnection } from '../../lib/redis.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { hashApiKey } from '../tenants.js';
import { withinGuardTimeout } from './guard-redis.js';

const WINDOW_MS = 60_000;

/**
 * Fixed one-minute window: INCR, and start the window's clock on the first hit. One round trip,
 * atomic, and shared by every API instance on the same Redis and prefix.
 * Returns { count in this window, ms until the window ends }.
 */
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

/** Paths never limited: probes, static files, the API document. */
const UNLIMITED = /^\/(healthz|readyz|metrics|openapi\.json)(\?|$)|^\/(files|docs)(\/|\?|$)/;

export interface RateLimitOptions {
  redis: RedisConnection;
  prefix: string;
  perMinute: number;
  uploadPerMinute: number;
  logger: Logger;
}

/**
 * An onRequest hook: counts before the body is read, so an over-limit upload costs us nothing.
 * Keyed by the hash of the presented API key (never the key itself), by client IP without one.
 * Uploads (`POST /v1/assets`) have a bucket of their own.
 */
export function rateLimitHook(options: RateLimitOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (UNLIMITED.test(request.url)) return;
    const isUpload = request.method === 'POST' && request.routeOptions.url === '/v1/assets';
    const [bucket, limit] = isUpload ? ['upload', options.uploadPerMinute] : ['api', options.perMinute];
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const who = token ? `key:${hashApiKey(token)}` : `ip:${request.ip}`;
    let count: number;
    let ttlMs: number;
    try {
      [count, ttlMs] = (await withinGuardTimeout(options.redis.eval(HIT_SCRIPT, 1, `${options.prefix}:ratelimit:${bucket}:${who}`, WINDOW_MS))) as [number, number];
    } catch (err) {
      // Fail open: a Redis outage must not turn every read into an error. Work-creating requests
      // are refused by the backpressure guard instead, which fails closed.
      options.logger.warn({ err }, 'rate limit check skipped: Redis unavailable');
      return;
    }
    reply.header('x-ratelimit-limit', limit).header('x-ratelimit-remaining', Math.max(0, limit - count));
    if (count <= limit) return;
    const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
    const error = new AppError('RATE_LIMITED', `Over ${limit} requests per minute; retry in ${retryAfter} s.`, { limit, retryAfterSeconds: retryAfter });
    return reply.code(429).header('retry-after', retryAfter).send(error.toJSON());
  };
}
