import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CATALOG_MEDIA_TYPES } from '../workers/batches/catalog-lines.js';
import { WORK_ROUTES } from './guards/backpressure.js';
import { PROBLEM_MEDIA_TYPE } from './error-shape.js';
import { errorBodySchema } from './schemas.js';
import { OPERATION_IDS, operationIdFor, PUBLIC_OPERATIONS, ROUTE_ERRORS, UNLIMITED_OPERATIONS } from './openapi-operations.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is plain JSON, walked by key */
type Json = any;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** The statuses every error can be answered with, as a `$ref` into components. */
const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorContent = () => ({ 'application/json': { schema: ERROR_REF }, [PROBLEM_MEDIA_TYPE]: { schema: ERROR_REF } });

const STATUS_TEXT: Record<string, string> = {
  400: 'The request cannot be read (malformed JSON, multipart, URL or header)',
  401: 'No API key, or an unknown one',
  403: 'The admin key is needed',
  404: 'No such resource for this tenant',
  408: 'The request body stopped arriving, or arrived too slowly',
  409: 'A conflict: see `code`',
  412: '`If-Match` or `If-None-Match` names another version than the current one: read it again',
  413: 'The body is over its limit',
  415: 'A body media type this operation does not take',
  422: 'A readable request whose content breaks the schema (`INVALID_REQUEST`) or the domain rules: see `code`',
  429: 'Over the rate limit: retry after `Retry-After` seconds',
  500: 'Something went wrong on our side; quote the `X-Request-Id`',
  502: 'An origin or receiver failed',
  503: 'Unavailable for now (queues full, Redis or storage unreachable): retry after `Retry-After` seconds',
  504: 'An origin did not answer in time',
};

const REQUEST_ID_HEADER = {
  description: 'The request id (yours when you sent a safe `X-Request-Id`, else a new one); quote it in reports.',
  required: true,
  schema: { type: 'string' },
};
const RETRY_AFTER_HEADER = { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } };
/** What the rate limit tells every answer it counted (api/guards/rate-limit.ts); absent while Redis is unreachable. */
const RATE_LIMIT_HEADERS: Record<string, Json> = {
  'RateLimit-Limit': { description: 'Requests allowed in the window.', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Requests left in the window.', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until the window ends.', schema: { type: 'integer' } },
  'RateLimit-Policy': { description: 'The limit and its window, e.g. `600;w=60`.', schema: { type: 'string' } },
  'X-RateLimit-Limit': { description: 'As `RateLimit-Limit`, for older clients.', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'As `RateLimit-Remaining`, for older clients.', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'As `RateLimit-Reset`, for older clients.', schema: { type: 'integer' } },
};

/** Request bodies the routes read themselves (multipart, streamed catalogs), so no zod schema carries them. */
const REQUEST_BODIES: Record<string, Json> = {
  'POST /v1/assets': {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['file'],
          properties: {
            recipe: { type: 'string', description: 'The recipe as JSON text (before `file`); absent: the default recipe.' },
            sku: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'The product SKU (before `file`).' },
            file: { type: 'string', format: 'binary', description: 'The original: JPEG, PNG, WebP, AVIF, HEIC, TIFF or GIF.' },
          },
        },
        encoding: { recipe: { contentType: 'application/json' } },
      },
    },
  },
  'POST /v1/batches': {
    required: true,
    description: 'One item per line: CSV with a header row, or JSON Lines.',
    content: Object.fromEntries(Object.keys(CATALOG_MEDIA_TYPES).map((type) => [type, { schema: { type: 'string' } }])),
  },
};

/** Bodies that are not JSON: their media type and schema, by operation and status. */
const RAW_RESPONSES: Record<string, Record<string, Json>> = {
  'GET /v1/runs/{id}/events': {
    200: {
      description: 'Server-sent events: `run` on each change, then `end`.',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    },
  },
  'GET /v1/batches/{id}/results': {
    200: { description: 'One JSON object per item line.', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
  },
  'GET /v1/templates/{id}/preview.png': {
    200: { description: 'The preview.', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } },
    304: { description: 'Not modified: the `If-None-Match` ETag is the template version.' },
  },
  'GET /v1/assets/{id}/picture': {
    200: { description: 'The `<picture>` element.', content: { 'text/html': { schema: { type: 'string' } } } },
  },
  'GET /v1/experiments/{id}/picture': {
    200: { description: 'The `<picture>` element.', content: { 'text/html': { schema: { type: 'string' } } } },
  },
  'GET /v1/experiments/{id}/impression.gif': {
    200: { description: 'A 1×1 transparent GIF.', content: { 'image/gif': { schema: { type: 'string', format: 'binary' } } } },
  },
};

/** The error statuses any operation can answer, from what the guards in front of it do. */
function guardStatuses(key: string, op: Json, idempotent: boolean): number[] {
  const statuses = [500];
  if (!PUBLIC_OPERATIONS.has(key)) statuses.push(401, 503);
  if (!UNLIMITED_OPERATIONS.has(key)) statuses.push(429);
  const params: Json[] = op.parameters ?? [];
  // A path id that is too long (414) or not valid percent-encoding (400) is refused before the handler.
  if (params.some((p) => p.in === 'path')) statuses.push(400, 404, 414);
  // A path id with a pattern of its own (a template id) that it does not match is a schema failure.
  if (params.some((p) => p.in === 'path' && p.schema?.pattern !== undefined)) statuses.push(422);
  if (params.some((p) => p.in === 'query')) statuses.push(400, 422);
  if (op.requestBody) statuses.push(400, 408, 413, 415, 422);
  if (idempotent) statuses.push(400, 409, 422);
  if (WORK_ROUTES.has(key.replace(/\{(\w+)\}/g, ':$1'))) statuses.push(503);
  return statuses;
}

/**
 * The options for @fastify/swagger: the zod transform, plus one pass over the finished document
 * that gives every operation what no route schema says (operation ids, security, request bodies
 * read by hand, the errors its guards answer, headers) so route files carry only their own facts.
 */
export function openapiOptions(app: FastifyInstance): FastifyDynamicSwaggerOptions {
  const idempotent = new Set<string>();
  return {
    openapi: {
      info: {
        title: 'Product image pipeline API',
        version: '1',
        description: 'Upload product photos; get responsive, CDN-ready renditions.',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: [{ url: '/', description: 'This server' }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    transform: (input) => {
      const route = input.route as RouteOptions;
      const handlers = [route.preHandler].flat();
      // The document is built on first request, after the guards decorated the app.
      if (handlers.includes(app.idempotent)) {
        for (const method of [route.method].flat()) idempotent.add(`${method.toUpperCase()} ${input.url.replace(/:(\w+)/g, '{$1}')}`);
      }
      return jsonSchemaTransform(input);
    },
    transformObject: (document) =>
      'openapiObject' in document ? finishDocument(document.openapiObject as Json, idempotent) : document.swaggerObject,
  };
}

function finishDocument(doc: Json, idempotent: Set<string>): Json {
  doc.components ??= {};
  doc.components.schemas = { ...doc.components.schemas, Error: toOpenApiSchema(errorBodySchema) };
  doc.components.headers = {
    RequestId: REQUEST_ID_HEADER,
    RetryAfter: RETRY_AFTER_HEADER,
    IdempotentReplayed: {
      description: '`true` when this is the kept answer to an earlier request with the same `Idempotency-Key`.',
      schema: { type: 'string', enum: ['true'] },
    },
    ...RATE_LIMIT_HEADERS,
  };
  doc.components.parameters = {
    IdempotencyKey: {
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Send the same key to retry safely: the first answer is kept for 24 h and replayed (`Idempotent-Replayed: true`).',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    },
    RequestId: {
      name: 'X-Request-Id',
      in: 'header',
      required: false,
      description: 'Your own request id, echoed back when safe.',
      schema: { type: 'string', maxLength: 128 },
    },
  };
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const key = `${method.toUpperCase()} ${path}`;
      finishOperation(key, op, idempotent.has(key));
    }
  }
  return collapseTupleUnions(doc);
}

function finishOperation(key: string, op: Json, idempotent: boolean): void {
  op.operationId = OPERATION_IDS[key] ?? operationIdFor(key);
  if (PUBLIC_OPERATIONS.has(key)) op.security = [];
  if (REQUEST_BODIES[key]) op.requestBody = REQUEST_BODIES[key];
  if (key === 'POST /v1/assets/{id}/runs') op.requestBody = recipeBody(op.requestBody);
  op.parameters = [...(op.parameters ?? []), { $ref: '#/components/parameters/RequestId' }];
  if (idempotent) op.parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });

  const responses: Record<string, Json> = op.responses ?? {};
  // The routes' own error lists were per plugin: the document states what this operation answers.
  for (const status of Object.keys(responses)) if (Number(status) >= 400 && isErrorResponse(responses[status])) delete responses[status];
  for (const status of [...guardStatuses(key, op, idempotent), ...(ROUTE_ERRORS[key] ?? [])]) {
    responses[status] = { description: STATUS_TEXT[status] ?? 'An error: see `code`', content: errorContent() };
  }
  Object.assign(responses, RAW_RESPONSES[key]);
  for (const [status, response] of Object.entries(responses)) {
    if (status === '204' || status === '304') delete response.content;
    response.headers = { ...response.headers, 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
    if (status === '429' || status === '503') response.headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' };
    if (idempotent) response.headers['Idempotent-Replayed'] = { $ref: '#/components/headers/IdempotentReplayed' };
    if (!UNLIMITED_OPERATIONS.has(key)) {
      for (const name of Object.keys(RATE_LIMIT_HEADERS)) response.headers[name] = { $ref: `#/components/headers/${name}` };
    }
  }
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}

/** The run body is the recipe itself; say so, since `{ "recipe": … }` is a common first guess (refused with 422). */
function recipeBody(body: Json): Json {
  if (!body) return body;
  body.description = 'The recipe itself: `{ "steps": [...] }`, not `{ "recipe": … }` (422 `INVALID_RECIPE`).';
  body.required = true;
  return body;
}

const isErrorResponse = (response: Json): boolean => {
  const schema = response?.content?.['application/json']?.schema ?? Object.values<Json>(response?.content ?? {})[0]?.schema;
  return schema === undefined || schema.properties?.error !== undefined || schema.$ref === ERROR_REF.$ref;
};

/**
 * `[r, g, b]` tuples come out of the zod conversion as `items: { anyOf: [x, x, x] }`: the same
 * schema three times, which reads as a mistake. One copy says the same.
 */
function collapseTupleUnions(node: Json): Json {
  if (Array.isArray(node)) return node.map(collapseTupleUnions);
  if (typeof node !== 'object' || node === null) return node;
  for (const key of Object.keys(node)) node[key] = collapseTupleUnions(node[key]);
  for (const keyword of ['anyOf', 'oneOf']) {
    const items: Json[] | undefined = node[keyword];
    if (!items || items.length < 2) continue;
    const first = JSON.stringify(items[0]);
    if (items.every((item) => JSON.stringify(item) === first)) {
      delete node[keyword];
      Object.assign(node, items[0]);
    }
  }
  return node;
}

function toOpenApiSchema(schema: z.ZodType): Json {
  const { $schema: _s, ...json } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output' }) as Json;
  return json;
}
