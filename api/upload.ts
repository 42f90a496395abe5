import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { AppError, badInput } from '../lib/errors.js';

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

/**
 * Stream the multipart `file` part to a temporary file while hashing it, never holding the whole
 * upload in memory. Over `maxBytes` the upload is refused with 413 and the partial file removed.
 */
export async function receiveUpload(request: FastifyRequest, maxBytes: number): Promise<ReceivedUpload> {
  if (request.headers['content-length'] === '0') throw emptyUpload();
  if (!request.isMultipart()) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the image as multipart/form-data with a `file` part.');
  }
  let part;
  try {
    part = await request.file({ limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 64 * 1024 } });
  } catch (err) {
    throw translateMultipartError(err, maxBytes);
  }
  if (!part) throw emptyUpload();

  const tempPath = path.join(tmpdir(), `upload-${randomUUID()}`);
  const cleanup = () => rm(tempPath, { force: true });
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(part.file, meter, createWriteStream(tempPath));
    if (part.file.truncated) throw tooLarge(maxBytes);
  } catch (err) {
    await cleanup();
    throw translateMultipartError(err, maxBytes);
  }
  if (bytes === 0) {
    await cleanup();
    throw emptyUpload();
  }
  const fields: Record<string, string> = {};
  for (const [name, field] of Object.entries(part.fields)) {
    const value = Array.isArray(field) ? field[0] : field;
    if (value && value.type === 'field' && typeof value.value === 'string') fields[name] = value.value;
  }
  return { path: tempPath, bytes, sha256: hash.digest('hex'), filename: part.filename || undefined, fields, cleanup };
}

const emptyUpload = () => new AppError(400, 'EMPTY_UPLOAD', 'The upload is empty: send an image in a multipart `file` part.');
const tooLarge = (maxBytes: number) =>
  badInput('UPLOAD_TOO_LARGE', `The upload exceeds the limit of ${maxBytes} bytes.`, { maxBytes });

function translateMultipartError(err: unknown, maxBytes: number): Error {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') {
    return new AppError(400, 'BAD_REQUEST', 'Send exactly one `file` part and at most 10 small fields.');
  }
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the image as multipart/form-data with a `file` part.');
  }
  const message = err instanceof Error ? err.message : '';
  if (/Unexpected end of (form|multipart)/i.test(message)) return emptyUpload();
  return new AppError(400, 'BAD_REQUEST', 'The multipart body could not be read.');
}
