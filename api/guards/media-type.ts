import type { FastifyRequest } from 'fastify';
import { AppError } from '../../lib/errors.js';

/**
 * A preParsing hook for every route that takes a body: its media type must be one the route
 * declares (`schema.consumes`), JSON when it declares none. Without it, a body type that some other
 * route parses (a catalog's text/csv, a multipart form) reached a JSON route as something its schema
 * refused with 400, instead of 415 before anything is read.
 */
export async function mediaTypeHook(request: FastifyRequest) {
  const schema = request.routeOptions.schema;
  if (!schema || (schema.body === undefined && schema.consumes === undefined)) return;
  const { headers } = request;
  const hasBody =
    headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!hasBody || type === '') return;
  const accepted = schema.consumes ?? ['application/json'];
  if (!accepted.includes(type)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `This route takes ${accepted.join(' or ')}, not ${type}.`, { accepted });
  }
}
