import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCatalog, type CatalogFormat, type CatalogLine } from '../../workers/batches/catalog-lines.js';
import { fuzzParams, hostileJson, hostileName, nestedText } from './settings.js';

const MAX_LINE = 200;

/** One catalog line as generated, and what reading it must give. */
type Generated = { text: string; expect: 'item' | 'error' | 'either' | 'nothing'; sku?: string };

const sku = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
const junk = fc.string({ unit: 'binary', maxLength: 60 }).map((s) => s.replaceAll('\n', ' '));
const blank = fc.constantFrom('', ' ', '\t', '\r', ' \r');

function lineArbitrary(format: CatalogFormat): fc.Arbitrary<Generated> {
  const good =
    format === 'csv'
      ? sku.map((s): Generated => ({ text: `${s},ast_0123456789abcdef0123456789abcdef`, expect: 'item', sku: s }))
      : sku.map((s): Generated => ({
          text: JSON.stringify({ sku: s, source: 'ast_0123456789abcdef0123456789abcdef' }),
          expect: 'item',
          sku: s,
        }));
  const bad =
    format === 'csv'
      ? fc
          .oneof(
            sku.map((s) => `${s},"unclosed`),
            sku.map((s) => `"${s}",x,extra`),
            sku.map((s) => `${s}"x,y`),
          )
          .map((text): Generated => ({ text, expect: 'error' }))
      : fc
          .oneof(
            fc.constant('not json'),
            fc.constant('[1]'),
            fc.constant(`{"sku":${nestedText(40)}}`),
            hostileJson.map((v) => `[${JSON.stringify(v) ?? 'null'}]`),
          )
          .map((text): Generated => ({ text, expect: 'error' }));
  return fc.oneof(
    { arbitrary: good, weight: 4 },
    { arbitrary: bad, weight: 2 },
    {
      arbitrary: fc.integer({ min: MAX_LINE + 1, max: MAX_LINE * 40 }).map((n): Generated => ({ text: 'x'.repeat(n), expect: 'error' })),
      weight: 1,
    },
    // A long line that opens a quote (CSV) or a string (JSON) it never closes.
    {
      arbitrary: fc
        .integer({ min: MAX_LINE + 1, max: MAX_LINE * 5 })
        .map((n): Generated => ({ text: `a,"${'y'.repeat(n)}`, expect: 'error' })),
      weight: 1,
    },
    { arbitrary: blank.map((text): Generated => ({ text, expect: 'nothing' })), weight: 1 },
    {
      arbitrary: fc
        .oneof(
          junk,
          hostileName.map((n) => n.replaceAll('\n', '')),
        )
        .map((text): Generated => ({ text, expect: 'either' })),
      weight: 2,
    },
  );
}

/** Split bytes at the given fractions, as a network body arrives. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) out.push(bytes.subarray(from, to));
    from = Math.max(from, to);
  }
  return out;
}

async function readAll(chunks: Buffer[], format: CatalogFormat): Promise<CatalogLine[]> {
  const out: CatalogLine[] = [];
  for await (const line of readCatalog(Readable.from(chunks), format, MAX_LINE)) out.push(line);
  return out;
}

describe('fuzz: a catalog line is accepted or reported exactly once, at its own line number', () => {
  for (const format of ['csv', 'ndjson'] as const) {
    it(`${format}: good, bad, long, unclosed, blank and junk lines in any order, split anywhere`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(lineArbitrary(format), { minLength: 1, maxLength: 40 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
          fc.constantFrom('\n', '\r\n'),
          fc.boolean(),
          async (lines, cuts, eol, finalNewline) => {
            const header = format === 'csv' ? [`sku,source${eol}`] : [];
            const body = header.join('') + lines.map((l) => l.text).join(eol) + (finalNewline ? eol : '');
            const read = await readAll(chunked(Buffer.from(body), cuts), format);
            const first = header.length + 1;
            const numbers = read.map((r) => r.line);
            // In file order, each number once.
            expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
            expect(new Set(numbers).size).toBe(numbers.length);
            const byLine = new Map(read.map((r) => [r.line, r]));
            lines.forEach((l, i) => {
              const n = first + i;
              const got = byLine.get(n);
              const long = Buffer.byteLength(l.text.replace(/\r$/, '')) > MAX_LINE;
              // An over-long line is reported even when it is all blanks: it was never read.
              const want = long ? 'error' : l.text.trim() === '' ? 'nothing' : l.expect;
              if (want === 'nothing') return expect(got, `line ${n} ${JSON.stringify(l.text.slice(0, 40))}`).toBeUndefined();
              expect(got, `line ${n} ${JSON.stringify(l.text.slice(0, 40))}`).toBeDefined();
              if (want === 'item') expect(got).toMatchObject({ fields: { sku: l.sku } });
              if (want === 'error') expect(got).toHaveProperty('error');
              byLine.delete(n);
            });
            // Nothing reported that was not a line of the file.
            expect([...byLine.keys()]).toEqual([]);
          },
        ),
        fuzzParams(150),
      );
    });
  }
});
