import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
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
 * A `multipart/form-data` body, text fields first and the file last (the server reads `recipe` and
 * `sku` before the file, so it can refuse a bad recipe before storing bytes). A path or bytes make
 * a Blob (a path's is backed by the file, read as it is sent), so the request has a Content-Length:
 * a server refusing it before reading (503 under backpressure) drains it and its answer arrives.
 * A stream goes chunked; refused that way, the connection is cut and the call fails NETWORK_ERROR.
 */
export function multipartBody(
  fields: Record<string, string>,
  file: MultipartFile,
): { contentType: string; body: () => Promise<Blob | ReadableStream<Uint8Array>> } {
  const boundary = `----pipeline-${randomBytes(12).toString('hex')}`;
  const filename = file.filename ?? (typeof file.source === 'string' ? path.basename(file.source) : 'upload');
  const head =
    Object.entries(fields)
      .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`)
      .join('') +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(filename)}"\r\n` +
    `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const { source } = file;
  async function* parts(stream: AsyncIterable<Uint8Array>) {
    yield Buffer.from(head);
    for await (const chunk of stream) yield chunk;
    yield Buffer.from(tail);
  }
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: async () => {
      if (typeof source === 'string') return new Blob([head, await openAsBlob(source), tail]);
      if (source instanceof Uint8Array) return new Blob([head, source as Uint8Array<ArrayBuffer>, tail]);
      const stream =
        source instanceof ReadableStream ? Readable.fromWeb(source as import('node:stream/web').ReadableStream<Uint8Array>) : source;
      return Readable.toWeb(Readable.from(parts(stream))) as ReadableStream<Uint8Array>;
    },
  };
}
