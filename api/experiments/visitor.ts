import type { FastifyRequest } from 'fastify';
import { VISITOR_HEADER, VISITOR_ID_PATTERN } from '../../lib/experiment-assignment.js';

/**
 * The visitor id of a request, in the edge's order: the `X-Visitor-Id` header, then the
 * experiment's cookie, then (for a beacon, whose page may live on another host) an explicit id.
 * Undefined when none is present or it is malformed: such a visitor sees the control, uncounted.
 */
export function visitorOf(request: FastifyRequest, cookieName: string | undefined, explicit?: string): string | undefined {
  const header = request.headers[VISITOR_HEADER];
  const fromCookie = cookieName ? cookieValue(request.headers.cookie, cookieName) : undefined;
  const id = (typeof header === 'string' ? header : undefined) ?? fromCookie ?? explicit;
  return id !== undefined && VISITOR_ID_PATTERN.test(id) ? id : undefined;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
