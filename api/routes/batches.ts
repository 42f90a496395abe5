import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, ERROR_CODES, notFound } from '../../lib/errors.js';
import { CATALOG_MEDIA_TYPES, CatalogHeaderError, readCatalog } from '../../workers/batches/catalog-lines.js';
import { cancelBatch, pauseBatch, resumeBatch } from '../../workers/batches/control.js';
import { exportResults } from '../../workers/batches/results.js';
import { decodeCursor, encodeCursor } from '../../lib/cursor.js';
import type { BatchMeta } from '../../workers/batches/store.js';
import { submitCatalogLines } from '../../workers/batches/submit.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { conditionalRead, notModifiedSchema, withEtag } from '../conditional.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import { errorBodySchema, idParams } from '../schemas.js';

const countsSchema = z.object({
  total: z.number().int(),
  waiting: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
});

export const batchStatusSchema = z.object({
  id: z.string(),
  state: z.enum(['running', 'paused', 'cancelled', 'completed']),
  counts: countsSchema.describe('`total` counts the lines this batch runs plus the lines it refused (those are `failed`).'),
  throughputPerMinute: z
    .number()
    .describe(
      "Items finished per minute from the batch's first item start to its end (or now while it runs); fixed once the batch is finished.",
    ),
  etaSeconds: z.number().nullable().describe('Time left at the recent pace (the last 20 items finished); null while unknown or paused.'),
  createdAt: z.string(),
  failures: z
    .array(z.object({ line: z.number().int(), sku: z.string(), code: z.enum(ERROR_CODES), message: z.string() }))
    .describe('Refused lines and failed items, with the catalog line number (the first 1000).'),
  duplicates: z.number().int().describe('Lines whose work an earlier batch did or is doing: not run again, not counted in `total`.'),
  origin: z.string(),
  finishedAt: z.string().optional(),
});

const submissionSchema = z.object({
  batch: batchStatusSchema,
  accepted: z.number().int(),
  duplicates: z.object({ completed: z.number().int(), inProgress: z.number().int() }),
  rejected: z.number().int(),
});

/** A cursor's position in `GET /v1/batches`: the last batch's creation time (ms) and id. */
const batchPosition = z.object({ at: z.number().int().nonnegative(), id: z.string().regex(/^bat_[0-9a-f]{32}$/) }).strict();

const errors = Object.fromEntries([400, 401, 404, 409, 413, 415, 422].map((s) => [s, errorBodySchema]));

export function batchRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireTenant(deps.tenants);
  const { lane, events } = deps.batches;

  // Catalog bodies are streamed to the line reader as they arrive, never buffered whole.
  app.addContentTypeParser(Object.keys(CATALOG_MEDIA_TYPES), (_request, payload, done) => done(null, payload));

  r.post('/v1/batches', {
    preHandler: auth,
    schema: {
      summary: 'Submit a catalog: one item per line (CSV with a header row, or JSON Lines)',
      description:
        'Content-Type `text/csv` or `application/x-ndjson`. Each item: `sku`, `source` (an asset id, an http(s) URL, or ' +
        '`inbox/<path>`), `recipe` (JSON) or `template`, and `options` (render widths/formats). Bad lines are reported ' +
        'with their line number; good lines run. An item already done or in progress (same SKU, source and recipe) is not run again.',
      consumes: Object.keys(CATALOG_MEDIA_TYPES),
      response: { 202: submissionSchema, ...errors },
    },
    handler: async (request, reply) => {
      const format = catalogFormat(request);
      try {
        const lines = readCatalog(request.body as Readable, format, lane.config.maxLineBytes);
        const submission = await submitCatalogLines(lane, tenantOf(request), lines, 'api');
        return reply.code(202).send(submission);
      } catch (err) {
        if (err instanceof CatalogHeaderError) throw new AppError('INVALID_BATCH_ITEM', err.message, { line: 1 });
        // The rest of a refused body is not read: the connection cannot be reused.
        if (err instanceof AppError && err.code === 'BATCH_TOO_LARGE') reply.header('connection', 'close');
        throw err;
      }
    },
  });

  r.get('/v1/batches', {
    preHandler: auth,
    schema: {
      summary: "The tenant's batches, newest first",
      description: 'Pages by cursor: pass `next_cursor` back as `cursor` until it is null. Batches are kept 30 days.',
      querystring: pageQuery,
      response: { 200: z.object({ batches: z.array(batchStatusSchema), next_cursor: nextCursorField }), ...errors },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'batches', tenantId, batchPosition);
      const page = await lane.store.page(tenantId, after, limit);
      return {
        batches: await Promise.all(page.items.map((m) => lane.store.status(m))),
        next_cursor: page.next ? encodeCursor('batches', tenantId, page.next) : null,
      };
    },
  });

  const batchOf = async (request: FastifyRequest): Promise<BatchMeta> => {
    const meta = await lane.store.metaOf(tenantOf(request), (request.params as { id: string }).id);
    if (!meta) throw notFound('Batch');
    return meta;
  };

  r.get('/v1/batches/:id', {
    preHandler: auth,
    onSend: conditionalRead,
    schema: {
      summary: 'Progress of a batch: counts, throughput, ETA and failures by line',
      params: idParams,
      response: { 200: withEtag(batchStatusSchema), 304: notModifiedSchema, ...errors },
    },
    handler: async (request) => lane.store.status(await batchOf(request)),
  });

  const actions = { pause: pauseBatch, resume: resumeBatch, cancel: cancelBatch } as const;
  for (const [action, run] of Object.entries(actions)) {
    r.post(`/v1/batches/:id/${action}`, {
      preHandler: auth,
      schema: {
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} a batch`,
        description:
          action === 'pause'
            ? 'Queued items stay out of the queue until resumed; items already running finish.'
            : action === 'resume'
              ? 'Paused items go back into the queue.'
              : 'Queued items are dropped and counted cancelled; running items finish.',
        params: idParams,
        response: { 200: batchStatusSchema, ...errors },
      },
      handler: async (request) => run(lane, events, await batchOf(request)),
    });
  }

  r.get('/v1/batches/:id/results', {
    preHandler: auth,
    schema: {
      summary: 'Every line of a batch and what came of it, as JSON Lines',
      description:
        'One object per line: `{ line, sku, state, assetId, runId, manifestUrl, urls, error }`; a duplicate line shows the item that did the work.',
      params: idParams,
      produces: ['application/x-ndjson'],
    },
    handler: async (request, reply) => {
      const meta = await batchOf(request);
      return reply.type('application/x-ndjson').send(Readable.from(exportResults(lane.store, meta)));
    },
  });
}

function catalogFormat(request: FastifyRequest) {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const format = CATALOG_MEDIA_TYPES[type];
  if (!format) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the catalog as ${Object.keys(CATALOG_MEDIA_TYPES).join(' or ')}.`);
  return format;
}
