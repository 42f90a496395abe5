import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

/** What an upload may come from: a file path, bytes, or a stream (read once: never retried). */
export type UploadSource = string | Uint8Array | Readable | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export interface MultipartFile {
  source: UploadSource;
  /** The part's file name; defaults to a path's base name, else `upload`. */
  filename?: string;
  contentType?: string;
}

/** A path or bytes can be sent again from the start; a stream cannot. */
export const isReplayable = (source: UploadSource) => typeof source === 'string' || source instanceof Uint8Array;

const quote = (value: string) => value.replace(/[\r\n"]/g, (c) => encodeURIComponent(c));

/**
 * A `multipart/form-data` body built as a stream, text fields first and the file last (the server
 * reads `recipe` and `sku` before the file, so it can refuse a bad recipe before storing bytes). The
 * file is streamed, never held whole in memory; FormData would need a Blob.
 */
export function multipartBody(fields: Record<string, string>, file: MultipartFile): { contentType: string; body: () => ReadableStream<Uint8Array> } {
  const boundary = `----pipeline-${randomBytes(12).toString('hex')}`;
  const filename = file.filename ?? (typeof file.source === 'string' ? path.basename(file.source) : 'upload');
  const head =
    Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`).join('') +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(filename)}"\r\n` +
    `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const fileBytes = (): AsyncIterable<Uint8Array> => {
    const { source } = file;
    if (typeof source === 'string') return createReadStream(source);
    if (source instanceof Uint8Array) return [source] as unknown as AsyncIterable<Uint8Array>;
    if (source instanceof ReadableStream) return Readable.fromWeb(source as import('node:stream/web').ReadableStream<Uint8Array>);
    return source;
  };
  async function* parts() {
    yield Buffer.from(head);
    for await (const chunk of fileBytes()) yield chunk;
    yield Buffer.from(tail);
  }
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: () => Readable.toWeb(Readable.from(parts())) as ReadableStream<Uint8Array>,
  };
}
