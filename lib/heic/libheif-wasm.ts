import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * libheif compiled to WebAssembly, from the libheif-js package: the variant with a separate .wasm
 * file (its bundled variant carries the binary base64-encoded, slower to start). The binary is
 * compiled once per process and each decoding thread instantiates that compiled module, which
 * takes milliseconds where compiling takes a tenth of a second.
 */

/** The WebAssembly API Node provides; @types/node declares only its types, not these values. */
interface WasmRuntime {
  compile(bytes: Uint8Array): Promise<CompiledLibHeif>;
  Instance: new (module: CompiledLibHeif, imports: object) => object;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmRuntime }).WebAssembly;

/** A compiled WebAssembly.Module of libheif: it can be sent to worker threads. */
export type CompiledLibHeif = object & { readonly __compiledLibHeif?: never };

const require = createRequire(import.meta.url);
const packageDir = path.dirname(require.resolve('libheif-js/package.json'));

let compiled: Promise<CompiledLibHeif> | undefined;

/** The compiled module, compiled on first use in this process. */
export function compileLibHeif(): Promise<CompiledLibHeif> {
  compiled ??= readFile(path.join(packageDir, 'libheif-wasm', 'libheif.wasm'))
    .then((bytes) => wasm.compile(bytes))
    .catch((err: unknown) => {
      compiled = undefined; // a broken install is fixed without a restart; do not keep the failure
      throw err;
    });
  return compiled;
}

/** A ready libheif instance (synchronous: the module is already compiled). */
export function instantiateLibHeif(module: CompiledLibHeif): LibHeif {
  const factory = require(path.join(packageDir, 'libheif-wasm', 'libheif.js')) as (options: object) => LibHeif;
  return factory({
    // Emscripten's hook for bringing one's own instance: it wires the instance's exports itself.
    instantiateWasm: (imports: object, receive: (instance: object, module: CompiledLibHeif) => unknown) =>
      receive(new wasm.Instance(module, imports), module),
  });
}

/**
 * The part of libheif-js's embind API used here (its bundled .d.ts types most results as `any`).
 * The ICC profile needs a raw C export and the handle's embind pointer (`$$.ptr`), which is why
 * package.json pins libheif-js exactly; the profile test fails if an upgrade changes either.
 */
export interface HeifError {
  code: { value: number };
  subcode: { value: number };
  message: string;
}
export interface HeifChannel {
  data: Uint8Array;
  width: number;
  height: number;
  stride: number;
}
export interface HeifHandle {
  $$: { ptr: number };
}
export interface LibHeif {
  heif_context_alloc(): object;
  heif_context_free(context: object): void;
  heif_context_read_from_memory(context: object, data: Uint8Array): HeifError;
  heif_context_get_number_of_top_level_images(context: object): number;
  heif_js_context_get_primary_image_handle(context: object): HeifHandle | HeifError;
  heif_image_handle_get_width(handle: HeifHandle): number;
  heif_image_handle_get_height(handle: HeifHandle): number;
  heif_image_handle_has_alpha_channel(handle: HeifHandle): number;
  heif_image_handle_release(handle: HeifHandle): void;
  heif_js_decode_image2(handle: HeifHandle, colorspace: unknown, chroma: unknown): { image: object; channels: HeifChannel[] } | HeifError;
  heif_image_release(image: object): void;
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGBA: unknown };
  // Raw C exports, for the ICC profile (no embind wrapper exists). A struct result (heif_error)
  // comes back through a pointer passed first.
  _heif_image_handle_get_raw_color_profile_size(handle: number): number;
  _heif_image_handle_get_raw_color_profile(errorOut: number, handle: number, out: number): void;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
}
