import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { AppError } from './errors.js';

/**
 * The one cursor encoding of every list: opaque to clients (base64url of a small JSON document),
 * checked on the way back in. A cursor names its list and, through a hash, the scope it was made
 * in (the tenant, and the webhook or SKU the list is of), so one handed to another list, another
 * tenant or another filter is refused (400) instead of positioning a walk somewhere foreign. It
 * holds a position (the last item's sort key), never an offset, so items added while a client
 * walks neither shift nor repeat the older ones still ahead.
 */

/** Longest cursor accepted: a position is a timestamp and an id or two. */
export const MAX_CURSOR_LENGTH = 512;

const CURSOR_VERSION = 1;

/** A short hash of the scope: the cursor says whose list it walks without naming the tenant. */
const scopeHash = (scope: string) => createHash('sha256').update(scope).digest('base64url').slice(0, 16);

export function encodeCursor(list: string, scope: string, position: unknown): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, l: list, s: scopeHash(scope), p: position })).toString('base64url');
}

const badCursor = () =>
  new AppError(
    'BAD_REQUEST',
    'The cursor is not one this list gave out: pass `next_cursor` from the previous page unchanged, or start again without it.',
    { parameter: 'cursor' },
  );

/** The position in `cursor`, when it was made by `encodeCursor` for this list and scope; else a 400. */
export function decodeCursor<T>(cursor: string, list: string, scope: string, position: z.ZodType<T>): T {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  const { v, l, s, p } = (doc ?? {}) as { v?: unknown; l?: unknown; s?: unknown; p?: unknown };
  if (v !== CURSOR_VERSION || l !== list || s !== scopeHash(scope)) throw badCursor();
  const parsed = position.safeParse(p);
  if (!parsed.success) throw badCursor();
  return parsed.data;
}

/** One page of a list: the items, and the position to go on from when more may follow. */
export interface Page<T, P> {
  items: T[];
  /** The last item's position when another item follows it; `undefined` at the end of the list. */
  next?: P;
}

/**
 * Fill a page from an index that may name items gone since (expired, taken down): read `limit + 1`
 * positions after `after` at a time, load them, skip the ones `load` no longer finds, until one
 * more than a page is found (so `next` is set only when something follows) or the index ends.
 */
export async function fillPage<T, P>(input: {
  limit: number;
  after: P | undefined;
  /** Up to `count` positions after `after` (or from the start), in list order. */
  positions(after: P | undefined, count: number): Promise<P[]>;
  /** The item at each position, `undefined` where it is gone. */
  load(positions: P[]): Promise<Array<T | undefined>>;
}): Promise<Page<T, P>> {
  const found: Array<{ item: T; position: P }> = [];
  let after = input.after;
  for (;;) {
    const want = input.limit + 1 - found.length;
    const positions = await input.positions(after, want);
    const items = await input.load(positions);
    positions.forEach((position, i) => {
      const item = items[i];
      if (item !== undefined && found.length <= input.limit) found.push({ item, position });
    });
    if (found.length > input.limit || positions.length < want) break;
    after = positions[positions.length - 1];
  }
  const page = found.slice(0, input.limit);
  return {
    items: page.map((f) => f.item),
    ...(found.length > input.limit ? { next: page[page.length - 1]!.position } : {}),
  };
}

/**
 * One page of a short list read whole (a tenant's webhooks, templates, API keys), ordered by
 * `keyOf` ascending in code-unit order: the items whose key follows `after`. The key must be
 * unique (an id, or a time and an id), so an item added or removed during a walk moves no other.
 */
export function pageOfSorted<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  after: string | undefined,
  limit: number,
): Page<T, string> {
  const ahead = items
    .map((item) => ({ item, key: keyOf(item) }))
    .filter((e) => after === undefined || e.key > after)
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const page = ahead.slice(0, limit);
  return { items: page.map((e) => e.item), ...(ahead.length > limit ? { next: page[page.length - 1]!.key } : {}) };
}
