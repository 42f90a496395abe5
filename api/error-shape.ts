import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, toProblem, type ErrorBody, type ErrorCode } from '../lib/errors.js';
import { UNAVAILABLE_RETRY_AFTER_S } from './guards/guard-redis.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/**
 * Every error the framework raises by its own code, turned into ours. Whatever fastify, its
 * router, its body parsers or Node's HTTP parser refuses reaches the client as
 * `{ error: { code, message } }` with a documented code, never in fastify's own shape.
 */
const FRAMEWORK_CODES: Record<string, ErrorCode> = Object.assign(Object.create(null) as Record<string, ErrorCode>, {
  FST_ERR_CTP_BODY_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
});

/** Map anything thrown in a route (or by the framework) to the one error type; never leak internals. */
export function toAppError(err: FastifyError): AppError {
  if (err instanceof AppError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    // 422 on every route: a request we could read whose content breaks the schema, as a recipe's
    // or a template's own schema failures are. 400 is kept for what cannot be read at all.
    return new AppError('INVALID_REQUEST', 'The request does not match the schema.', {
      issues: err.validation.map((v) => ({ path: v.instancePath, message: v.message })),
    });
  }
  const code = FRAMEWORK_CODES[err.code];
  if (code === 'URI_TOO_LONG')
    return new AppError(code, 'A path segment is longer than 100 characters: no id is that long.', { maxLength: 100 });
  if (code) return new AppError(code, err.message);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new AppError('BAD_REQUEST', err.message);
  return new AppError('INTERNAL', 'Something went wrong on our side; it has been logged.');
}

/** The one error handler: the route's errors, and the framework's before a route was found (`frameworkErrors`). */
export function sendError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const appError = toAppError(err);
  if (appError.status >= 500) request.log.error({ err }, 'request failed');
  // Work refused for now (a busy decoder, an unreachable store) tells the client when to come back.
  if (appError.status === 503) reply.header('retry-after', UNAVAILABLE_RETRY_AFTER_S);
  reply.header(REQUEST_ID_HEADER, request.id);
  // Shaped here, not left to the hook: errors raised before a route is found skip the route's hooks.
  if (prefersProblem(request.headers.accept)) reply.type(`${PROBLEM_MEDIA_TYPE}; charset=utf-8`);
  return reply.code(appError.status).send(toProblem(appError.toJSON(), appError.status, request.id));
}

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const isErrorBody = (payload: unknown): payload is ErrorBody =>
  typeof payload === 'object' && payload !== null && typeof (payload as ErrorBody).error?.code === 'string' && !('status' in payload);

/** True when the client's `Accept` names `application/problem+json` (without `q=0`). */
export const prefersProblem = (accept: string | undefined): boolean =>
  (accept ?? '').split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    return type === PROBLEM_MEDIA_TYPE && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });

/**
 * A preSerialization hook: every JSON error answer, whichever guard, handler or framework path
 * sent it, becomes problem details (RFC 9457) with the older `error` object beside them, and is
 * typed `application/problem+json` when the client asks for it.
 */
export async function problemDetailsHook(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (reply.statusCode < 400 || !isErrorBody(payload)) return payload;
  if (prefersProblem(request.headers.accept)) reply.type(`${PROBLEM_MEDIA_TYPE}; charset=utf-8`);
  return toProblem(payload, reply.statusCode, request.id);
}

/**
 * Node's HTTP parser refused the request before fastify saw it (a malformed request line or
 * header, headers too large, headers too slow): answer in our shape, then close.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('UPLOAD_TIMEOUT', 'The request did not arrive in time.')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('BAD_REQUEST', 'The request headers are too large.', undefined, { status: 431 })
        : new AppError('BAD_REQUEST', 'The request is not valid HTTP/1.1.');
  const body = JSON.stringify(toProblem(error.toJSON(), error.status));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
