import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';

/** An upload received whole on local disk, hashed on the way in. */
export interface ReceivedUpload {
  path: string;
  bytes: number;
  sha256: string;
  filename?: string;
  /** Text fields sent before the file part. */
  fields: Record<string, string>;
  /** Remove the temporary file. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/** Limits on receiving one upload. The body's idle and total deadlines are every body's (api/guards/body-deadline.ts). */
export interface UploadLimits {
  maxBytes: number;
  /** Where the upload is spooled while it is checked (default: the OS temp folder). */
  tmpDir?: string;
}

/**
 * Stream the multipart `file` part to a temporary file while hashing it, never holding the whole
 * upload in memory. Over `maxBytes` the upload is refused with 413 and the partial file removed.
 * A body that stalls, or whose connection drops, fails as the transport failure it is (408
 * `UPLOAD_TIMEOUT`, 400 `BODY_INCOMPLETE`), never as a fault of the request: an Idempotency-Key
 * does not keep it.
 */
export async function receiveUpload(request: FastifyRequest, limits: UploadLimits): Promise<ReceivedUpload> {
  const { maxBytes } = limits;
  if (request.headers['content-length'] === '0') throw emptyUpload();
  if (!request.isMultipart()) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the image as multipart/form-data with a `file` part.');
  }
  // Every part is read, not just the first file: a second file, an eleventh field or a field named
  // after an Object.prototype member (`__proto__`, `constructor`) refuses the whole upload.
  const parts = request.parts({ limits: { fileSize: maxBytes, files: 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES } });
  const tempPath = path.join(limits.tmpDir ?? tmpdir(), `upload-${randomUUID()}`);
  const cleanup = () => rm(tempPath, { force: true });
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let received: { bytes: number; sha256: string; filename?: string } | undefined;
  let partsSeen = 0;
  try {
    for await (const part of parts) {
      partsSeen++;
      if (part.type === 'field') {
        // Cut short by the reader, a field would run as something the client did not send.
        if (part.valueTruncated || part.fieldnameTruncated) throw fieldTooLarge();
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (received) throw tooManyParts();
      const hash = createHash('sha256');
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(part.file, meter, createWriteStream(tempPath));
      if (part.file.truncated) throw tooLarge(maxBytes);
      received = { bytes, sha256: hash.digest('hex'), ...(part.filename ? { filename: part.filename } : {}) };
    }
  } catch (err) {
    await cleanup();
    throw translateMultipartError(request, err, maxBytes);
  }
  if (!received || received.bytes === 0) {
    await cleanup();
    // Bytes that held no part at all are not multipart, whatever the header says.
    throw partsSeen === 0 && !emptyBody(request) ? malformed() : emptyUpload();
  }
  return { path: tempPath, ...received, fields: { ...fields }, cleanup };
}

/** Text fields an upload may carry besides its file (recipe, sku, and room to grow). */
const MAX_FIELDS = 10;

/** The longest text field (a recipe is a few hundred bytes). */
const MAX_FIELD_BYTES = 64 * 1024;

const emptyBody = (request: FastifyRequest) => /^0*$/.test(String(request.headers['content-length'] ?? ''));
const tooManyParts = () => new AppError('BAD_REQUEST', `Send exactly one \`file\` part and at most ${MAX_FIELDS} small fields.`);
const fieldTooLarge = () =>
  new AppError('BAD_REQUEST', `A form field is at most ${MAX_FIELD_BYTES} bytes (and its name 100).`, { maxFieldBytes: MAX_FIELD_BYTES });
const malformed = () => new AppError('BAD_REQUEST', 'The multipart body could not be read: check its boundary and part headers.');
const emptyUpload = () => new AppError('EMPTY_UPLOAD', 'The upload is empty: send an image in a multipart `file` part.');
const tooLarge = (maxBytes: number) => new AppError('UPLOAD_TOO_LARGE', `The upload exceeds the limit of ${maxBytes} bytes.`, { maxBytes });

function translateMultipartError(request: FastifyRequest, err: unknown, maxBytes: number): Error {
  if (request.bodyTimeout) return request.bodyTimeout;
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return tooManyParts();
  if (code === 'FST_PROTO_VIOLATION') {
    return new AppError('BAD_REQUEST', 'A form field may not be named after an object property such as `__proto__` or `constructor`.');
  }
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the image as multipart/form-data with a `file` part.');
  }
  if (code === 'FST_INVALID_JSON_FIELD_ERROR') return malformed();
  // The body ended before its declared length: the connection dropped, not a fault of the request.
  if (!request.raw.complete && (request.raw.socket?.destroyed ?? true)) {
    return new AppError('BODY_INCOMPLETE', 'The connection closed before the whole body arrived. Nothing was stored; send it again.');
  }
  return malformed();
}
