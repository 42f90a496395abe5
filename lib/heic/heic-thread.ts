/**
 * Worker-thread entry that decodes one HEIC (HEVC-coded HEIF) image with libheif compiled to
 * WebAssembly (libheif-js: libheif + libde265). It runs off the caller's event loop, and the
 * caller terminates the thread when the decode deadline passes: WebAssembly cannot be interrupted
 * any other way. Its caller (lib/heic/decoder-thread.ts) keeps it for the next image a while.
 *
 * The primary image's size is read from the header (`ispe`) and checked against the pixel limit
 * before any pixel is decoded, so a decompression bomb costs a header parse only.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { HeicThreadInit, HeicThreadReply, HeicThreadRequest } from './heic-protocol.js';
import { instantiateLibHeif, type HeifChannel, type HeifError, type HeifHandle, type LibHeif } from './libheif-wasm.js';

/** The libheif heif_error_code values answered apart; every other code means bad bytes. */
const HEIF_ERROR = { ok: 0, unsupportedFiletype: 3, unsupportedFeature: 4, memory: 6 } as const;
const SECURITY_LIMIT_EXCEEDED = 1000;

class Refusal extends Error {
  constructor(readonly reply: Extract<HeicThreadReply, { ok: false }>) {
    super(reply.message);
  }
}

const isError = (value: unknown): value is HeifError =>
  typeof value === 'object' && value !== null && 'code' in value && 'message' in value;

/** A libheif error as our refusal: the file's fault (bad or unsupported input), never retried. */
function refusal(error: HeifError): Refusal {
  const reason = error.message.trim();
  if (error.subcode.value === SECURITY_LIMIT_EXCEEDED || error.code.value === HEIF_ERROR.memory) {
    return new Refusal({
      ok: false,
      code: 'IMAGE_TOO_LARGE',
      message: "The HEIC image exceeds the decoder's safety limits.",
      details: { reason },
    });
  }
  if (error.code.value === HEIF_ERROR.unsupportedFiletype || error.code.value === HEIF_ERROR.unsupportedFeature) {
    return new Refusal({
      ok: false,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'The HEIF file uses a coding or feature we cannot read: export it as JPEG.',
      details: { reason },
    });
  }
  // Invalid input (2), a decoder error (5) and the rest: the bytes themselves are bad.
  return new Refusal({ ok: false, code: 'CORRUPT_IMAGE', message: 'The HEIC file is corrupt or truncated.', details: { reason } });
}

function readIccProfile(lib: LibHeif, handle: HeifHandle): Uint8Array | undefined {
  const size = lib._heif_image_handle_get_raw_color_profile_size(handle.$$.ptr);
  if (size === 0) return undefined; // none, or an nclx (coded) profile, which libheif applies itself
  const out = lib._malloc(size);
  const errorOut = lib._malloc(16);
  try {
    lib._heif_image_handle_get_raw_color_profile(errorOut, handle.$$.ptr, out);
    if (lib.HEAP32[errorOut >> 2] !== HEIF_ERROR.ok) return undefined;
    return lib.HEAPU8.slice(out, out + size);
  } finally {
    lib._free(out);
    lib._free(errorOut);
  }
}

/**
 * Bytes libheif holds per pixel while decoding: the decoded planes (up to 16-bit 4:4:4 with alpha,
 * 8) and the interleaved RGBA result (4), rounded up.
 */
const DECODE_BYTES_PER_PIXEL = 14;

/**
 * Grow the fresh instance's memory to what the decode will need, at once. Left to itself it grows
 * in steps as the decoder allocates, which made a thread's first (and only) decode of a
 * 9-megapixel image 0.1-0.2 s slower than a warm one. The pixel limit was checked before this.
 */
function reserveMemory(lib: LibHeif, bytes: number): void {
  const block = lib._malloc(bytes);
  if (block) lib._free(block); // freed at once: the memory stays with the instance for the decoder
}

/**
 * Interleaved RGBA rows, without the row padding libheif may add, copied out of WebAssembly memory
 * (the channel's data is a view into it, gone once the image is released).
 */
function copyRows(channel: HeifChannel): Uint8Array {
  const row = channel.width * 4;
  if (channel.stride === row) return channel.data.slice(0, row * channel.height);
  const packed = new Uint8Array(row * channel.height);
  for (let y = 0; y < channel.height; y++) packed.set(channel.data.subarray(y * channel.stride, y * channel.stride + row), y * row);
  return packed;
}

async function decode(lib: LibHeif, request: HeicThreadRequest): Promise<HeicThreadReply> {
  const context = lib.heif_context_alloc();
  try {
    const read = lib.heif_context_read_from_memory(context, request.bytes);
    if (read.code.value !== HEIF_ERROR.ok) throw refusal(read);
    const images = lib.heif_context_get_number_of_top_level_images(context);
    if (images > request.maxImages) {
      throw new Refusal({
        ok: false,
        code: 'IMAGE_TOO_LARGE',
        message: `The HEIF file holds ${images} images; the limit is ${request.maxImages}.`,
        details: { frames: images, maxFrames: request.maxImages },
      });
    }
    const handle = lib.heif_js_context_get_primary_image_handle(context);
    if (isError(handle)) throw refusal(handle);
    try {
      // Width and height come from the header, after rotation: nothing is decoded yet.
      const width = lib.heif_image_handle_get_width(handle);
      const height = lib.heif_image_handle_get_height(handle);
      if (width * height > request.maxPixels) {
        throw new Refusal({
          ok: false,
          code: 'IMAGE_TOO_LARGE',
          message: `The image has ${width}x${height} pixels; the limit is ${request.maxPixels} pixels.`,
          details: { width, height, maxPixels: request.maxPixels },
        });
      }
      reserveMemory(lib, width * height * DECODE_BYTES_PER_PIXEL + request.bytes.length);
      const hasAlpha = lib.heif_image_handle_has_alpha_channel(handle) === 1;
      const icc = readIccProfile(lib, handle);
      // Decoded whatever the caller wants back: a file that does not decode to the end is refused.
      const image = await lib.heif_js_decode_image2(
        handle,
        lib.heif_colorspace.heif_colorspace_RGB,
        lib.heif_chroma.heif_chroma_interleaved_RGBA,
      );
      if (isError(image)) throw refusal(image);
      try {
        const channel = image.channels[0];
        if (!channel || channel.width !== width || channel.height !== height) {
          throw new Refusal({
            ok: false,
            code: 'CORRUPT_IMAGE',
            message: 'The HEIC file is corrupt: its pixels do not match its declared size.',
            details: {},
          });
        }
        return {
          ok: true,
          width,
          height,
          hasAlpha,
          images,
          ...(icc ? { icc } : {}),
          ...(request.pixels ? { rgba: copyRows(channel) } : {}),
        };
      } finally {
        lib.heif_image_release(image.image);
      }
    } finally {
      lib.heif_image_handle_release(handle);
    }
  } finally {
    lib.heif_context_free(context);
  }
}

async function answer(lib: LibHeif, request: HeicThreadRequest, port: MessagePort): Promise<void> {
  let reply: HeicThreadReply;
  try {
    reply = await decode(lib, request);
  } catch (err) {
    if (err instanceof Refusal) reply = err.reply;
    // libheif aborting inside WebAssembly (a WebAssembly.RuntimeError) is about the bytes it was given.
    // The instance is unusable after an abort, so the caller is told to end this thread.
    else if (err instanceof Error && err.name === 'RuntimeError')
      reply = {
        ok: false,
        code: 'CORRUPT_IMAGE',
        message: 'The HEIC file is corrupt.',
        details: { reason: err.message },
        decoderBroken: true,
      };
    // Anything else is ours: thrown out of the thread, it reaches the caller as its error (a 500).
    else throw err;
  }
  port.postMessage(reply, reply.ok && reply.rgba ? [reply.rgba.buffer as ArrayBuffer] : []);
}

const port = parentPort;
if (!port) throw new Error('heic-thread runs as a worker thread');
// Instantiating the compiled module takes milliseconds; this thread then decodes request after
// request, one at a time (its caller sends the next only after the answer).
const lib = instantiateLibHeif((workerData as HeicThreadInit).libheif);
port.on('message', (request: HeicThreadRequest) => {
  // Rethrown outside the promise so the thread ends with it and its caller gets the error.
  answer(lib, request, port).catch((err: unknown) =>
    setImmediate(() => {
      throw err;
    }),
  );
});
