import type { preValidationAsyncHookHandler } from 'fastify';
import { checkJsonDepth } from '../../lib/json-depth.js';

/** A value a JSON parser made: an array or a plain object (never a stream a route parses itself). */
const isParsedJson = (body: unknown): boolean =>
  Array.isArray(body) ||
  (body !== null && typeof body === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(body) as object | null));

/**
 * Every parsed request body is checked once, here at the edge, before validation and before any
 * preHandler (the idempotency key's canonical form, zod) walks it recursively. Multipart fields are
 * read later, by the route, and checked where they are parsed (`parseRecipeField`).
 */
export const jsonDepthHook: preValidationAsyncHookHandler = async (request) => {
  if (isParsedJson(request.body)) checkJsonDepth(request.body, 'The body');
};
