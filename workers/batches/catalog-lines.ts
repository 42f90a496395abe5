import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';

/** One data line of a catalog as read: its fields, or why it could not be read. */
export type CatalogLine =
  | { line: number; fields: Record<string, unknown> }
  | { line: number; error: string };

export type CatalogFormat = 'csv' | 'ndjson';

/** Media types accepted for a catalog body. */
export const CATALOG_MEDIA_TYPES: Record<string, CatalogFormat> = {
  'text/csv': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
};

/** The header problems that refuse a whole CSV catalog (a bad data line never does). */
export class CatalogHeaderError extends Error {}

/**
 * Read a catalog body line by line, never holding more than one line (and the parser's small
 * buffer) in memory. Line numbers are those of the file, header included, so a merchant can find
 * the line in their spreadsheet.
 */
export function readCatalog(body: Readable, format: CatalogFormat, maxLineBytes: number): AsyncIterable<CatalogLine> {
  return format === 'csv' ? readCsv(body, maxLineBytes) : readNdjson(body, maxLineBytes);
}

const REQUIRED_COLUMNS = ['sku', 'source'];
const KNOWN_COLUMNS = new Set(['sku', 'source', 'recipe', 'template', 'options']);

async function* readCsv(body: Readable, maxLineBytes: number): AsyncIterable<CatalogLine> {
  const skipped: CatalogLine[] = [];
  const parser = parse({
    bom: true,
    columns: (header: string[]) => {
      const names = header.map((h) => h.trim().toLowerCase());
      const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
      if (missing.length) throw new CatalogHeaderError(`The header row must name the columns ${REQUIRED_COLUMNS.join(', ')} (missing: ${missing.join(', ')}).`);
      const unknown = names.filter((n) => !KNOWN_COLUMNS.has(n));
      if (unknown.length) throw new CatalogHeaderError(`Unknown column(s) ${unknown.join(', ')}; use ${[...KNOWN_COLUMNS].join(', ')}.`);
      return names;
    },
    info: true,
    skip_empty_lines: true,
    trim: true,
    max_record_size: maxLineBytes,
    skip_records_with_error: true,
    on_skip: (err) => {
      const lines = (err as { lines?: number } | undefined)?.lines;
      skipped.push({ line: typeof lines === 'number' ? lines : 0, error: err?.message ?? 'unreadable CSV line' });
      return undefined;
    },
  });
  body.on('error', (err) => parser.destroy(err));
  body.pipe(parser);
  for await (const entry of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (skipped.length) yield skipped.shift()!;
    yield { line: entry.info.lines, fields: entry.record };
  }
  while (skipped.length) yield skipped.shift()!;
}

async function* readNdjson(body: Readable, maxLineBytes: number): AsyncIterable<CatalogLine> {
  let line = 0;
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  const finish = (): CatalogLine | undefined => {
    line += 1;
    const text = Buffer.concat(parts).toString('utf8').trim();
    const wasTooLong = tooLong;
    parts = [];
    length = 0;
    tooLong = false;
    if (wasTooLong) return { line, error: `The line is longer than ${maxLineBytes} bytes.` };
    if (text === '') return undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { line, error: 'A line must be one JSON object.' };
      return { line, fields: value as Record<string, unknown> };
    } catch {
      return { line, error: 'The line is not valid JSON.' };
    }
  };
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      append(chunk.subarray(start, nl));
      const out = finish();
      if (out) yield out;
      start = nl + 1;
    }
    append(chunk.subarray(start));
  }
  if (length > 0 || tooLong) {
    const out = finish();
    if (out) yield out;
  }

  // Past the limit, the rest of the line is dropped as it streams by: memory stays bounded.
  function append(piece: Buffer): void {
    if (tooLong || piece.length === 0) return;
    if (length + piece.length > maxLineBytes) {
      tooLong = true;
      parts = [];
      return;
    }
    parts.push(piece);
    length += piece.length;
  }
}
