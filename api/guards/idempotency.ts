import type { FastifyReply, FastifyRequest } from 'fastify';
import { canonicalJson, sha256Hex } from '../../lib/canonical-json.js';
import type { RedisConnection } from '../../lib/redis.js';
import { AppError, describesRequest } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { redisUnavailable, UNAVAILABLE_RETRY_AFTER_S, withinGuardTimeout } from './guard-redis.js';

/** Stored answers are replayed for this long. */
const ANSWER_TTL_MS = 24 * 3600 * 1000;
/**
 * A request in flight holds its key this long at most: if the process dies mid-request the key
 * frees itself instead of answering 409 for a day. Longer than any upload or run start takes.
 */
const PENDING_TTL_MS = 10 * 60 * 1000;
const MAX_KEY_LENGTH = 255;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the idempotency preHandler while this request owns its key. */
    idempotency?: { redisKey: string; fingerprint: string };
  }
}

type Stored = { state: 'pending'; fingerprint: string } | { state: 'done'; fingerprint: string; status: number; body: string };

export interface IdempotencyOptions {
  redis: RedisConnection;
  prefix: string;
  logger: Logger;
}

/**
 * `Idempotency-Key` support for POSTs that create work. The first request with a key stores its
 * status and JSON body for 24 h (per tenant, or per admin); a repeat gets that answer again with
 * `Idempotent-Replayed: true` and nothing is done twice.
 *
 * The fingerprint is the method, the route template, its params and, for JSON bodies, a hash of
 * the body. Multipart uploads are fingerprinted by route only: their file is known only after it
 * has been streamed, which is after the replay decision must be made.
 */
export function idempotency(options: IdempotencyOptions) {
  const { redis, prefix, logger } = options;

  /** A route-level preHandler; put it after the auth preHandler so the tenant is known. */
  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    const key = Array.isArray(header) ? (header[0] ?? '') : header;
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new AppError('BAD_REQUEST', `An Idempotency-Key is 1-${MAX_KEY_LENGTH} characters.`, { maxLength: MAX_KEY_LENGTH });
    }
    const scope = request.tenantId ?? 'admin';
    const redisKey = `${prefix}:idempotency:${scope}:${sha256Hex(key)}`;
    const fingerprint = fingerprintOf(request);
    let stored: Stored | undefined;
    try {
      const pending: Stored = { state: 'pending', fingerprint };
      const won = await withinGuardTimeout(redis.set(redisKey, JSON.stringify(pending), 'PX', PENDING_TTL_MS, 'NX'));
      if (won === 'OK') {
        request.idempotency = { redisKey, fingerprint };
        return;
      }
      const raw = await withinGuardTimeout(redis.get(redisKey));
      // Gone between SET and GET (a failed first attempt released it): the client may retry.
      if (raw === null) throw new AppError('IDEMPOTENCY_CONFLICT', 'A request with this Idempotency-Key just ended; retry.');
      stored = JSON.parse(raw) as Stored;
    } catch (err) {
      if (err instanceof AppError) throw err;
      logger.warn({ err }, 'idempotency check failed: Redis unavailable');
      reply.header('retry-after', UNAVAILABLE_RETRY_AFTER_S);
      throw redisUnavailable();
    }
    if (stored.fingerprint !== fingerprint) {
      throw new AppError('IDEMPOTENCY_MISMATCH', 'This Idempotency-Key was used for a different request.');
    }
    if (stored.state === 'pending') {
      reply.header('retry-after', 1);
      throw new AppError('IDEMPOTENCY_CONFLICT', 'A request with this Idempotency-Key is still in progress.');
    }
    return reply
      .code(stored.status)
      .header('content-type', 'application/json; charset=utf-8')
      .header('idempotent-replayed', 'true')
      .send(stored.body);
  };

  /**
   * A global onSend hook: the request that owns a key stores its answer when that answer describes
   * the request itself (a success, or a 4xx it would get again). A 5xx or a transport failure (a
   * body that stalled or was cut off, a rate limit: `transient` in the error table) frees the key
   * instead, so the retry does the work.
   */
  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const owned = request.idempotency;
    if (!owned) return payload;
    request.idempotency = undefined;
    try {
      if (typeof payload !== 'string' || !describesRequest(reply.statusCode, errorCodeOf(reply.statusCode, payload))) {
        await withinGuardTimeout(redis.del(owned.redisKey));
      } else {
        const done: Stored = { state: 'done', fingerprint: owned.fingerprint, status: reply.statusCode, body: payload };
        await withinGuardTimeout(redis.set(owned.redisKey, JSON.stringify(done), 'PX', ANSWER_TTL_MS));
      }
    } catch (err) {
      // The answer still goes out; the pending record expires on its own (PENDING_TTL_MS).
      logger.warn({ err }, 'could not store the idempotent answer');
    }
    return payload;
  };

  return { preHandler, onSend };
}

/** The code of one of our error bodies; every error answer goes through the one error handler. */
function errorCodeOf(status: number, payload: string): string | undefined {
  if (status < 400) return undefined;
  try {
    return (JSON.parse(payload) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function fingerprintOf(request: FastifyRequest): string {
  const parts = [request.method, request.routeOptions.url ?? request.url, JSON.stringify(request.params ?? {})];
  // Parsed JSON bodies only; a multipart body has not been read yet (see above). Keys sorted, so
  // `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request (for parsed JSON the one canonical
  // form writes what this guard's own copy did, so stored fingerprints still match).
  if (request.body !== undefined && !request.isMultipart()) parts.push(canonicalJson(request.body));
  return sha256Hex(parts.join('\n'));
}
