import type { ErrorCode } from '../errors.js';
import type { CompiledLibHeif } from './libheif-wasm.js';

/** What a decoding thread (lib/heic/heic-thread.ts) starts with: libheif, compiled once per process. */
export interface HeicThreadInit {
  libheif: CompiledLibHeif;
}

/** One decode the thread is asked for; it answers each with one {@link HeicThreadReply}. */
export interface HeicThreadRequest {
  bytes: Uint8Array;
  maxPixels: number;
  /** Top-level images (a burst, a collection); only the primary one is used. */
  maxImages: number;
  /** Send the pixels back; `false` still decodes them (a check that the file is whole). */
  pixels: boolean;
}

/** The thread's one answer: the primary image, or why the file is refused. */
export type HeicThreadReply =
  | {
      ok: true;
      width: number;
      height: number;
      hasAlpha: boolean;
      images: number;
      /** The embedded ICC profile (iPhones tag Display P3); absent for sRGB or an nclx profile. */
      icc?: Uint8Array;
      /** 8-bit interleaved RGBA, `width * height * 4` bytes, when asked for. */
      rgba?: Uint8Array;
    }
  | {
      ok: false;
      code: Extract<ErrorCode, 'IMAGE_TOO_LARGE' | 'CORRUPT_IMAGE' | 'UNSUPPORTED_MEDIA_TYPE'>;
      message: string;
      details: Record<string, unknown>;
      /** libheif aborted inside WebAssembly: the thread's instance cannot decode again. */
      decoderBroken?: true;
    };
