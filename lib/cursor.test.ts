import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeCursor, encodeCursor, fillPage, MAX_CURSOR_LENGTH, pageOfSorted } from './cursor.js';
import { AppError } from './errors.js';

const position = z.object({ at: z.number().int(), id: z.string() }).strict();

describe('cursors', () => {
  const cursor = encodeCursor('batches', 'tenant-a', { at: 5, id: 'bat_1' });

  it('round-trips a position through opaque base64url', () => {
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'batches', 'tenant-a', position)).toEqual({ at: 5, id: 'bat_1' });
  });

  it.each([
    ['of another list', () => decodeCursor(cursor, 'assets', 'tenant-a', position)],
    ['of another tenant or filter', () => decodeCursor(cursor, 'batches', 'tenant-b', position)],
    ['not base64url', () => decodeCursor('not a cursor!', 'batches', 'tenant-a', position)],
    ['not JSON', () => decodeCursor(Buffer.from('{oops').toString('base64url'), 'batches', 'tenant-a', position)],
    ['JSON null', () => decodeCursor(Buffer.from('null').toString('base64url'), 'batches', 'tenant-a', position)],
    [
      'a position of the wrong shape',
      () => decodeCursor(encodeCursor('batches', 'tenant-a', { at: 'x' }), 'batches', 'tenant-a', position),
    ],
    ['too long', () => decodeCursor('A'.repeat(MAX_CURSOR_LENGTH + 1), 'batches', 'tenant-a', position)],
  ])('refuses a cursor %s with a 400', (_what, decode) => {
    const err = (() => {
      try {
        decode();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 400, code: 'BAD_REQUEST', details: { parameter: 'cursor' } });
  });
});

describe('fillPage', () => {
  /** An index of 0..n-1 in which `gone` no longer load. */
  const index = (n: number, gone: number[] = []) => ({
    positions: async (after: number | undefined, count: number) =>
      Array.from({ length: n }, (_, i) => i)
        .filter((i) => after === undefined || i > after)
        .slice(0, count),
    load: async (ps: number[]) => ps.map((p) => (gone.includes(p) ? undefined : `item-${p}`)),
  });

  it('sets `next` only when another item follows the page', async () => {
    expect(await fillPage({ limit: 3, after: undefined, ...index(3) })).toEqual({ items: ['item-0', 'item-1', 'item-2'] });
    expect(await fillPage({ limit: 2, after: undefined, ...index(3) })).toEqual({ items: ['item-0', 'item-1'], next: 1 });
    expect(await fillPage({ limit: 2, after: 1, ...index(3) })).toEqual({ items: ['item-2'] });
  });

  it('reads past entries whose item is gone to fill the page', async () => {
    expect(await fillPage({ limit: 2, after: undefined, ...index(8, [0, 1, 2, 4]) })).toEqual({ items: ['item-3', 'item-5'], next: 5 });
    expect(await fillPage({ limit: 2, after: undefined, ...index(4, [1, 2, 3]) })).toEqual({ items: ['item-0'] });
  });
});

describe('pageOfSorted', () => {
  const key = (s: string) => s;

  it('walks a list read whole in key order, the last page without `next`', () => {
    const items = ['d', 'a', 'c', 'b', 'e'];
    expect(pageOfSorted(items, key, undefined, 2)).toEqual({ items: ['a', 'b'], next: 'b' });
    expect(pageOfSorted(items, key, 'b', 2)).toEqual({ items: ['c', 'd'], next: 'd' });
    expect(pageOfSorted(items, key, 'd', 2)).toEqual({ items: ['e'] });
  });

  it('goes on after the position even when its item is gone, and sorts in code-unit order', () => {
    expect(pageOfSorted(['a', 'c', 'd'], key, 'b', 5)).toEqual({ items: ['c', 'd'] });
    expect(pageOfSorted(['b', 'B', 'a-1', 'a1'], key, undefined, 5).items).toEqual(['B', 'a-1', 'a1', 'b']);
  });
});
