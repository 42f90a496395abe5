import type { Readable } from 'node:stream';
import { jsonDeeperThan, MAX_JSON_DEPTH } from '../../lib/json-depth.js';
import { nameTable } from '../../lib/own-keys.js';
import { splitCsvLine } from './csv-line.js';

/** One data line of a catalog as read: its fields, or why it could not be read. */
export type CatalogLine = { line: number; fields: Record<string, unknown> } | { line: number; error: string };

export type CatalogFormat = 'csv' | 'ndjson';

/** Media types accepted for a catalog body. */
export const CATALOG_MEDIA_TYPES: Readonly<Record<string, CatalogFormat>> = nameTable({
  'text/csv': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
});

/** The header problems that refuse a whole CSV catalog (a bad data line never does). */
export class CatalogHeaderError extends Error {}

/**
 * Read a catalog body line by line, never holding more than one line in memory. Both formats share
 * one rule: every physical line (`\n`, or `\r\n`) is one item, so each non-blank line comes out
 * exactly once, as fields or as an error, numbered as in the file (header included) so a merchant
 * can find it in their spreadsheet. A line over `maxLineBytes` is reported once and skipped as it
 * streams by.
 */
export function readCatalog(body: Readable, format: CatalogFormat, maxLineBytes: number): AsyncIterable<CatalogLine> {
  return format === 'csv' ? readCsv(body, maxLineBytes) : readNdjson(body, maxLineBytes);
}

const REQUIRED_COLUMNS = ['sku', 'source'];
const KNOWN_COLUMNS = new Set(['sku', 'source', 'recipe', 'template', 'options']);

async function* readCsv(body: Readable, maxLineBytes: number): AsyncIterable<CatalogLine> {
  let columns: string[] | undefined;
  for await (const raw of physicalLines(body, maxLineBytes)) {
    if (!columns) {
      if ('error' in raw) throw new CatalogHeaderError(`The header row: ${raw.error}`);
      const header = splitCsvLine(raw.text);
      if ('error' in header) throw new CatalogHeaderError(`The header row: ${header.error}`);
      columns = checkHeader(header.fields);
      continue;
    }
    if ('error' in raw) {
      yield raw;
      continue;
    }
    const split = splitCsvLine(raw.text);
    if ('error' in split) {
      yield { line: raw.line, error: split.error };
    } else if (split.fields.length !== columns.length) {
      yield { line: raw.line, error: `The line has ${split.fields.length} fields; the header names ${columns.length}.` };
    } else {
      // Null prototype: a column is only ever an own key.
      const fields: Record<string, unknown> = Object.create(null);
      columns.forEach((name, i) => (fields[name] = split.fields[i]));
      yield { line: raw.line, fields };
    }
  }
  if (!columns) throw new CatalogHeaderError(`The catalog is empty: the header row must name the columns ${REQUIRED_COLUMNS.join(', ')}.`);
}

function checkHeader(header: string[]): string[] {
  const names = header.map((h) => h.trim().toLowerCase());
  const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length)
    throw new CatalogHeaderError(`The header row must name the columns ${REQUIRED_COLUMNS.join(', ')} (missing: ${missing.join(', ')}).`);
  const unknown = names.filter((n) => !KNOWN_COLUMNS.has(n));
  if (unknown.length) throw new CatalogHeaderError(`Unknown column(s) ${unknown.join(', ')}; use ${[...KNOWN_COLUMNS].join(', ')}.`);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new CatalogHeaderError(`Column(s) named twice: ${[...new Set(twice)].join(', ')}.`);
  return names;
}

async function* readNdjson(body: Readable, maxLineBytes: number): AsyncIterable<CatalogLine> {
  for await (const raw of physicalLines(body, maxLineBytes)) {
    if ('error' in raw) {
      yield raw;
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw.text);
    } catch {
      yield { line: raw.line, error: 'The line is not valid JSON.' };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      yield { line: raw.line, error: 'A line must be one JSON object.' };
    else if (jsonDeeperThan(value)) yield { line: raw.line, error: `The line nests JSON deeper than ${MAX_JSON_DEPTH} levels.` };
    else yield { line: raw.line, fields: value as Record<string, unknown> };
  }
}

type PhysicalLine = { line: number; text: string } | { line: number; error: string };

/**
 * Split a byte stream at `\n` into non-blank lines (trimmed, a byte-order mark dropped), numbered
 * from 1. Past `maxLineBytes` the rest of a line is dropped as it streams by: memory stays bounded
 * and the line is reported once, whatever its length.
 */
export async function* physicalLines(body: Readable, maxLineBytes: number): AsyncIterable<PhysicalLine> {
  let line = 0;
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  const finish = (): PhysicalLine | undefined => {
    line += 1;
    const wasTooLong = tooLong;
    const bytes = Buffer.concat(parts, length);
    parts = [];
    length = 0;
    tooLong = false;
    if (wasTooLong) return { line, error: `The line is longer than ${maxLineBytes} bytes.` };
    // String trim drops the BOM (U+FEFF) and a `\r` of CRLF endings with the spaces.
    const text = bytes.toString('utf8').trim();
    return text === '' ? undefined : { line, text };
  };
  const append = (piece: Buffer): void => {
    if (tooLong || piece.length === 0) return;
    if (length + piece.length > maxLineBytes) {
      tooLong = true;
      parts = [];
      length = 0;
      return;
    }
    parts.push(piece);
    length += piece.length;
  };
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      append(buf.subarray(start, nl));
      const out = finish();
      if (out) yield out;
      start = nl + 1;
    }
    append(buf.subarray(start));
  }
  if (length > 0 || tooLong) {
    const out = finish();
    if (out) yield out;
  }
}
