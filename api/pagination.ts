import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../lib/cursor.js';

/**
 * The query and the response field every list shares (`GET /v1/assets`, `/v1/batches`,
 * `/v1/webhooks`, `/v1/webhooks/:id/deliveries`, `/v1/templates`, `/v1/tenants/:id/keys`):
 * `limit` items per page, `cursor` from the previous page's `next_cursor`, which is null on the
 * last page.
 */

/** Items on a page when the client names no `limit`. */
export const DEFAULT_PAGE_LIMIT = 100;
/**
 * Most items on one page: each item costs a record read (an object-storage GET for assets, a
 * few Redis reads for a batch's status), so one request stays bounded. More is refused as a
 * schema failure, never quietly cut down.
 */
export const MAX_PAGE_LIMIT = 200;

export const pageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(DEFAULT_PAGE_LIMIT)
    .describe(`Items on this page (1–${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT}).`),
  // No length or pattern here: every cursor we cannot use, however it is wrong, is the same 400 (lib/cursor.ts).
  cursor: z
    .string()
    .optional()
    .describe(
      `\`next_cursor\` of the previous page, unchanged (at most ${MAX_CURSOR_LENGTH} characters); leave it out for the first page. A malformed cursor, or one of another list, tenant or filter, is a 400.`,
    ),
});

export const nextCursorField = z
  .string()
  .nullable()
  .describe('Pass it as `cursor` for the next page; null on the last page. Opaque: its contents may change.');
