import { isIPv6 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RedisConnection } from '../../lib/redis.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { apiKeyRecordKey, hashApiKey, isAdminKey } from '../tenants.js';
import { withinGuardTimeout } from './guard-redis.js';

const WINDOW_MS = 60_000;

/**
 * Fixed one-minute window: INCR, and start the window's clock on the first hit. One round trip,
 * atomic, and shared by every API instance on the same Redis and prefix.
 *
 * KEYS[1] is the client address's bucket. With a Bearer token, KEYS[2] is the key's bucket and
 * KEYS[3] the key's record: the key's bucket is used only when that record exists (or ARGV[2] says
 * it is the admin key), so a made-up token per request cannot buy a fresh bucket each time; it
 * counts against the address like no token at all. The lookup rides in the same round trip.
 * Returns { count in this window, ms until the window ends }.
 */
const HIT_SCRIPT = `
local bucket = KEYS[1]
if #KEYS == 3 and (ARGV[2] == '1' or redis.call('EXISTS', KEYS[3]) == 1) then bucket = KEYS[2] end
local n = redis.call('INCR', bucket)
if n == 1 then redis.call('PEXPIRE', bucket, ARGV[1]) end
local ttl = redis.call('PTTL', bucket)
if ttl < 0 then redis.call('PEXPIRE', bucket, ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

/**
 * Paths never limited: probes, static files, the API document, on-demand images (CDN origin
 * traffic, bounded by their own pool: 503 when saturated).
 */
const UNLIMITED = /^\/(healthz|readyz|metrics|openapi\.json)(\?|$)|^\/(files|docs|img)(\/|\?|$)/;

export interface RateLimitOptions {
  redis: RedisConnection;
  prefix: string;
  perMinute: number;
  uploadPerMinute: number;
  /** ADMIN_API_KEY: its requests get a key's bucket, though it has no record in Redis. */
  adminKey: string | undefined;
  logger: Logger;
}

/**
 * The address a bucket is kept for. IPv6 clients are counted per /64, the smallest block a
 * subscriber is given: one machine can take any address in it, so per address it would get 2^64
 * buckets. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, a dual-stack socket) is the IPv4 address.
 */
export function clientBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const address = ip.split('%')[0]!; // a link-local zone names our interface, not the client
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groupsOf = (part: string | undefined) => (part ? part.split(':') : []);
  // An embedded IPv4 tail (64:ff9b::1.2.3.4) is two groups wide; only the first four matter here.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const h = groupsOf(head);
  const t = groupsOf(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - width(h) - width(t)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * The standard headers on every limited answer: the IETF draft's `RateLimit-*` (draft-ietf-httpapi-
 * ratelimit-headers, the fields most clients and gateways read) and the older `X-RateLimit-*`; each
 * reset is seconds until the window ends, which is also the 429's `Retry-After`.
 */
function sendLimitHeaders(reply: FastifyReply, limit: number, remaining: number, resetSeconds: number) {
  reply
    .header('ratelimit-limit', limit)
    .header('ratelimit-remaining', remaining)
    .header('ratelimit-reset', resetSeconds)
    .header('ratelimit-policy', `${limit};w=${WINDOW_MS / 1000}`)
    .header('x-ratelimit-limit', limit)
    .header('x-ratelimit-remaining', remaining)
    .header('x-ratelimit-reset', resetSeconds);
}

/**
 * An onRequest hook: counts before the body is read, so an over-limit upload costs us nothing.
 * An API key that exists (or the admin key) has a bucket of its own, keyed by its hash (never the
 * key itself); everything else counts against the client's address (`request.ip`, which honours
 * TRUST_PROXY). Uploads (`POST /v1/assets`) have buckets of their own.
 */
export function rateLimitHook(options: RateLimitOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (UNLIMITED.test(request.url)) return;
    const isUpload = request.method === 'POST' && request.routeOptions.url === '/v1/assets';
    const [group, limit] = isUpload ? ['upload', options.uploadPerMinute] : ['api', options.perMinute];
    const bucketKey = (who: string) => `${options.prefix}:ratelimit:${group}:${who}`;
    const keys = [bucketKey(`ip:${clientBucket(request.ip)}`)];
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    let isAdmin = false;
    if (token) {
      const hash = hashApiKey(token);
      keys.push(bucketKey(`key:${hash}`), apiKeyRecordKey(options.prefix, hash));
      isAdmin = isAdminKey(token, options.adminKey);
    }
    let count: number;
    let ttlMs: number;
    try {
      [count, ttlMs] = (await withinGuardTimeout(options.redis.eval(HIT_SCRIPT, keys.length, ...keys, WINDOW_MS, isAdmin ? '1' : '0'))) as [
        number,
        number,
      ];
    } catch (err) {
      // Fail open: a Redis outage must not turn every read into an error. Work-creating requests
      // are refused by the backpressure guard instead, which fails closed.
      options.logger.warn({ err }, 'rate limit check skipped: Redis unavailable');
      return;
    }
    const resetSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    sendLimitHeaders(reply, limit, Math.max(0, limit - count), resetSeconds);
    if (count <= limit) return;
    const error = new AppError('RATE_LIMITED', `Over ${limit} requests per minute; retry in ${resetSeconds} s.`, {
      limit,
      retryAfterSeconds: resetSeconds,
    });
    return reply.code(429).header('retry-after', resetSeconds).send(error.toJSON());
  };
}
