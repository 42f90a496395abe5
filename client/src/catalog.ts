import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

/** One catalog item (`POST /v1/batches`): see the README's catalog section for every field. */
export interface CatalogItem {
  sku: string;
  /** An asset id, an http(s) URL, or `inbox/<path>`. */
  source: string;
  recipe?: unknown;
  template?: string;
  options?: unknown;
}

export type CatalogFormat = 'csv' | 'jsonl';

/** A catalog file (`.csv`, `.jsonl`, `.ndjson`), or items (objects are sent as JSON Lines; strings as lines of `format`). */
export type CatalogSource = string | Iterable<CatalogItem | string> | AsyncIterable<CatalogItem | string>;

export const CATALOG_CONTENT_TYPES: Record<CatalogFormat, string> = { csv: 'text/csv', jsonl: 'application/x-ndjson' };
const EXTENSIONS: Record<string, CatalogFormat> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };

export function catalogFormatOf(file: string): CatalogFormat {
  const format = EXTENSIONS[path.extname(file).toLowerCase()];
  if (!format) throw new TypeError(`A catalog file is .csv, .jsonl or .ndjson, not ${path.basename(file)}.`);
  return format;
}

/**
 * The body of a catalog, streamed: a file is read as it is sent and items are serialised one line
 * at a time, so a catalog of a million lines never sits in memory. A file goes as a file-backed
 * Blob (a Content-Length, so a refusal before reading still answers) and can be sent again from
 * the start (retries); an iterable is read once, chunked.
 */
export function catalogBody(
  source: CatalogSource,
  format?: CatalogFormat,
): { contentType: string; replayable: boolean; body: () => Promise<Blob> | ReadableStream<Uint8Array> } {
  if (typeof source === 'string') {
    const type = CATALOG_CONTENT_TYPES[format ?? catalogFormatOf(source)];
    return { contentType: type, replayable: true, body: () => openAsBlob(source) };
  }
  async function* lines() {
    for await (const item of source as AsyncIterable<CatalogItem | string>) {
      if (typeof item !== 'string' && format === 'csv')
        throw new TypeError('Items as objects are sent as JSON Lines: leave out format, or pass CSV lines as strings.');
      yield Buffer.from(`${typeof item === 'string' ? item.replace(/\r?\n$/, '') : JSON.stringify(item)}\n`);
    }
  }
  return {
    contentType: CATALOG_CONTENT_TYPES[format ?? 'jsonl'],
    replayable: false,
    body: () => Readable.toWeb(Readable.from(lines())) as ReadableStream<Uint8Array>,
  };
}

/** Lines of a JSON Lines body, parsed one by one as they arrive. */
export async function* jsonLines<T>(body: ReadableStream<Uint8Array> | null): AsyncGenerator<T> {
  if (!body) return;
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) yield JSON.parse(line) as T;
  }
  rest += decoder.decode();
  if (rest.trim()) yield JSON.parse(rest) as T;
}
