import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
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

/** Limits on receiving one upload. */
export interface UploadLimits {
  maxBytes: number;
  /** Longest silence between two chunks of the body before the upload is cut off (slow clients). */
  idleTimeoutMs: number;
  /** Where the upload is spooled while it is checked (default: the OS temp folder). */
  tmpDir?: string;
}

/**
 * Stream the multipart `file` part to a temporary file while hashing it, never holding the whole
 * upload in memory. Over `maxBytes` the upload is refused with 413 and the partial file removed;
 * a body that stops arriving for `idleTimeoutMs` is refused with 408 and its connection closed,
 * so a slow or vanished client cannot hold a request (and a temporary file) open.
 */
export async function receiveUpload(request: FastifyRequest, reply: FastifyReply, limits: UploadLimits): Promise<ReceivedUpload> {
  const idle = watchIdleBody(request, reply, limits.idleTimeoutMs);
  try {
    return await receive(request, limits, idle);
  } catch (err) {
    throw idle.timedOut ? uploadTimeout(limits.idleTimeoutMs) : err;
  } finally {
    idle.stop();
  }
}

interface IdleWatch {
  timedOut: boolean;
  /** Called with the body stream once it exists, so a timeout can abort it. */
  attach(stream: NodeJS.ReadableStream & { destroy(err?: Error): void }): void;
  stop(): void;
}

/** Re-armed by every chunk of the raw body; on silence it aborts the body and marks the connection for closing. */
function watchIdleBody(request: FastifyRequest, reply: FastifyReply, idleTimeoutMs: number): IdleWatch {
  let body: { destroy(err?: Error): void } | undefined;
  const watch: IdleWatch = {
    timedOut: false,
    attach: (stream) => (body = stream),
    stop: () => {
      clearTimeout(timer);
      request.raw.off('data', rearm);
    },
  };
  const fire = () => {
    watch.timedOut = true;
    // The rest of the body will never be read: answer, then drop the connection.
    reply.header('connection', 'close');
    reply.raw.once('finish', () => request.raw.socket?.destroy());
    const err = uploadTimeout(idleTimeoutMs);
    body?.destroy(err);
    // The multipart reader listens for request errors: this ends its part iteration too (when the
    // silence falls between parts) without destroying the socket the 408 still has to go out on.
    request.raw.emit('error', err);
  };
  let timer = setTimeout(fire, idleTimeoutMs);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(fire, idleTimeoutMs);
  };
  request.raw.on('data', rearm);
  return watch;
}

async function receive(request: FastifyRequest, limits: UploadLimits, idle: IdleWatch): Promise<ReceivedUpload> {
  const { maxBytes } = limits;
  if (request.headers['content-length'] === '0') throw emptyUpload();
  if (!request.isMultipart()) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the image as multipart/form-data with a `file` part.');
  }
  // Every part is read, not just the first file: a second file, an eleventh field or a field named
  // after an Object.prototype member (`__proto__`, `constructor`) refuses the whole upload.
  const parts = request.parts({ limits: { fileSize: maxBytes, files: 1, fields: MAX_FIELDS, fieldSize: 64 * 1024 } });
  const tempPath = path.join(limits.tmpDir ?? tmpdir(), `upload-${randomUUID()}`);
  const cleanup = () => rm(tempPath, { force: true });
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let received: { bytes: number; sha256: string; filename?: string } | undefined;
  try {
    for await (const part of parts) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (received) throw tooManyParts();
      idle.attach(part.file);
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
    throw translateMultipartError(err, maxBytes);
  }
  if (!received || received.bytes === 0) {
    await cleanup();
    throw emptyUpload();
  }
  return { path: tempPath, ...received, fields: { ...fields }, cleanup };
}

/** Text fields an upload may carry besides its file (recipe, sku, and room to grow). */
const MAX_FIELDS = 10;

const tooManyParts = () => new AppError(400, 'BAD_REQUEST', `Send exactly one \`file\` part and at most ${MAX_FIELDS} small fields.`);
const uploadTimeout = (idleTimeoutMs: number) =>
  new AppError(408, 'UPLOAD_TIMEOUT', `The upload stalled: no data for ${idleTimeoutMs} ms. Nothing was stored; send it again.`, { idleTimeoutMs });
const emptyUpload = () => new AppError(400, 'EMPTY_UPLOAD', 'The upload is empty: send an image in a multipart `file` part.');
const tooLarge = (maxBytes: number) =>
  badInput('UPLOAD_TOO_LARGE', `The upload exceeds the limit of ${maxBytes} bytes.`, { maxBytes });

function translateMultipartError(err: unknown, maxBytes: number): Error {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return tooManyParts();
  if (code === 'FST_PROTO_VIOLATION') {
    return new AppError(400, 'BAD_REQUEST', 'A form field may not be named after an object property such as `__proto__` or `constructor`.');
  }
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the image as multipart/form-data with a `file` part.');
  }
  const message = err instanceof Error ? err.message : '';
  if (/Unexpected end of (form|multipart)/i.test(message)) return emptyUpload();
  return new AppError(400, 'BAD_REQUEST', 'The multipart body could not be read.');
}
