import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../lib/errors.js';

/** Limits on receiving any request body (BODY_IDLE_TIMEOUT_MS, BODY_TIMEOUT_MS). */
export interface BodyDeadlineLimits {
  /** Longest silence between two chunks of a body. */
  idleMs: number;
  /** Longest a whole body may take to arrive, however steadily it trickles. */
  totalMs: number;
}

/**
 * After a timeout the answer has this long to go out before the connection is dropped anyway: a
 * handler that had not started reading the body yet never sees the timeout's error.
 */
const ANSWER_GRACE_MS = 5_000;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when this request's body was cut off (idle or total deadline). */
    bodyTimeout?: AppError;
  }
}

const hasBody = (raw: IncomingMessage) =>
  raw.headers['transfer-encoding'] !== undefined || (raw.headers['content-length'] !== undefined && raw.headers['content-length'] !== '0');

/**
 * One onRequest hook for every route: a body that stops arriving for `idleMs`, or has not all
 * arrived after `totalMs`, is cut off with 408 `UPLOAD_TIMEOUT` and its connection closed, so a
 * slow or vanished client cannot hold a request, a temporary file or a catalog read open.
 *
 * Arrival is watched where Node's HTTP parser hands the body over (`push`), not with a `data`
 * listener, which would start the stream flowing before its reader (JSON parser, multipart reader,
 * catalog line reader) is attached. The timeout reaches that reader as an `error` on the request
 * stream, which each of them listens for; the socket stays up for the 408 and is closed after it.
 */
export function bodyDeadlineHook(limits: BodyDeadlineLimits) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw;
    // Small bodies arrive with the headers: nothing left to wait for.
    if (raw.complete || !hasBody(raw)) return;
    const push = raw.push;
    let idle: NodeJS.Timeout | undefined;
    const stop = () => {
      clearTimeout(idle);
      clearTimeout(total);
      raw.push = push;
    };
    const cutOff = (message: string, details: Record<string, unknown>) => {
      stop();
      if (raw.complete) return;
      const err = new AppError('UPLOAD_TIMEOUT', `${message} Nothing was stored; send it again.`, details);
      request.bodyTimeout = err;
      // The rest of the body will never be read: answer, then drop the connection.
      reply.header('connection', 'close');
      reply.raw.once('finish', () => raw.socket?.destroy());
      setTimeout(() => raw.socket?.destroy(), ANSWER_GRACE_MS).unref();
      raw.emit('error', err);
    };
    const onIdle = () => {
      // A full buffer means the reader is behind, not the client: the client has not gone quiet.
      if (raw.readableLength >= raw.readableHighWaterMark) return armIdle();
      cutOff(`The request body stalled: no data for ${limits.idleMs} ms.`, { idleTimeoutMs: limits.idleMs });
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(onIdle, limits.idleMs);
    };
    const total = setTimeout(
      () => cutOff(`The request body took longer than ${limits.totalMs} ms to arrive.`, { bodyTimeoutMs: limits.totalMs }),
      limits.totalMs,
    );
    armIdle();
    raw.push = function pushWatched(chunk: unknown, encoding?: BufferEncoding) {
      if (chunk === null) stop();
      else armIdle();
      return push.call(raw, chunk, encoding);
    };
    // The timeout is emitted as an error even when no reader is attached yet: never let it throw.
    raw.on('error', () => undefined);
    raw.once('close', stop);
  };
}
