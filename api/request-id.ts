import type { IncomingMessage } from 'node:http';

/** The header a caller (or a proxy in front of us) may set to correlate its logs with ours. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Short and safe to print in a log line or a header: letters, digits and `._:-`, 1-128 characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's `genReqId`: keep the caller's `X-Request-Id` when it is safe, otherwise make one, so
 * every request log line (`reqId`) can be traced across a proxy, this API and the caller.
 */
export function requestIdFor(raw: IncomingMessage): string {
  const given = raw.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : crypto.randomUUID();
}
