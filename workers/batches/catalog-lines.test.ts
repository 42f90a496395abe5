import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CatalogHeaderError, readCatalog, type CatalogLine } from './catalog-lines.js';

async function read(text: string | string[], format: 'csv' | 'ndjson', maxLineBytes = 1024): Promise<CatalogLine[]> {
  // Chunks split anywhere, as a network body would be.
  const chunks = Array.isArray(text) ? text : [text];
  const out: CatalogLine[] = [];
  for await (const line of readCatalog(Readable.from(chunks.map((c) => Buffer.from(c))), format, maxLineBytes)) out.push(line);
  return out;
}

describe('readCatalog', () => {
  it('numbers JSON Lines by file line, across chunk boundaries, skipping blank lines', async () => {
    const lines = await read(['{"sku":"a","sour', 'ce":"x"}\n\n{"sku":"b"}\nnot json\n[1]\n{"sku":"c"}'], 'ndjson');
    expect(lines).toEqual([
      { line: 1, fields: { sku: 'a', source: 'x' } },
      { line: 3, fields: { sku: 'b' } },
      { line: 4, error: 'The line is not valid JSON.' },
      { line: 5, error: 'A line must be one JSON object.' },
      { line: 6, fields: { sku: 'c' } },
    ]);
  });

  it('reports an over-long line without holding it, and goes on', async () => {
    const lines = await read([`{"sku":"${'x'.repeat(40)}`, `${'y'.repeat(40)}"}\n{"sku":"ok"}\n`], 'ndjson', 50);
    expect(lines).toEqual([
      { line: 1, error: 'The line is longer than 50 bytes.' },
      { line: 2, fields: { sku: 'ok' } },
    ]);
  });

  it('reads CSV with a header row, quoted JSON cells and line numbers of the file', async () => {
    const csv = 'SKU,source,recipe\na-1,ast_1,\n"b-2",ast_2,"{""steps"":[{""name"":""render""}]}"\nc-3,ast_3,x,extra\n';
    const lines = await read(csv, 'csv');
    expect(lines[0]).toEqual({ line: 2, fields: { sku: 'a-1', source: 'ast_1', recipe: '' } });
    expect(lines[1]).toEqual({ line: 3, fields: { sku: 'b-2', source: 'ast_2', recipe: '{"steps":[{"name":"render"}]}' } });
    expect(lines[2]).toMatchObject({ line: 4, error: 'The line has 4 fields; the header names 3.' });
  });

  it('reports a CSV line over the limit once, at its line, and reads every line after it', async () => {
    const good = Array.from({ length: 50 }, (_, i) => `s${i},ast_${i}`);
    for (const size of [20_000, 200_000, 2_000_000]) {
      const csv = `sku,source\n${good.slice(0, 10).join('\n')}\n${'a'.repeat(size)},x\n${good.slice(10).join('\n')}\n`;
      // Network-sized chunks: the long line spans many of them.
      const bytes = Buffer.from(csv);
      const chunks = Array.from({ length: Math.ceil(bytes.length / 16384) }, (_, i) =>
        bytes.subarray(i * 16384, (i + 1) * 16384).toString('latin1'),
      );
      const lines = await read(chunks, 'csv', 16384);
      expect(lines.filter((l) => 'error' in l)).toEqual([{ line: 12, error: 'The line is longer than 16384 bytes.' }]);
      expect(lines.filter((l) => 'fields' in l).map((l) => l.line)).toEqual([
        ...Array.from({ length: 10 }, (_, i) => i + 2),
        ...Array.from({ length: 40 }, (_, i) => i + 13),
      ]);
    }
  });

  it('reports an unclosed quote at its own line and goes on with the next line', async () => {
    const lines = await read('sku,source\ns0,a\ns1,"b\ns2,c\n"s3,d\ns4,e', 'csv');
    expect(lines.map((l) => [l.line, 'fields' in l])).toEqual([
      [2, true],
      [3, false],
      [4, true],
      [5, false],
      [6, true],
    ]);
    expect(lines[1]).toMatchObject({ error: expect.stringContaining('quote') });
  });

  it('reports a JSON line nested past MAX_JSON_DEPTH at its line, and reads the next', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const lines = await read(`{"sku":"a","recipe":${deep}}\n{"sku":"b"}\n`, 'ndjson', 64 * 1024);
    expect(lines).toEqual([
      { line: 1, error: 'The line nests JSON deeper than 32 levels.' },
      { line: 2, fields: { sku: 'b' } },
    ]);
  });

  it('refuses a CSV whose header lacks the required columns', async () => {
    await expect(read('name,url\nx,y\n', 'csv')).rejects.toBeInstanceOf(CatalogHeaderError);
  });
});
