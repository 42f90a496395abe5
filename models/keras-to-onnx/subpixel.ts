import { attr } from './graph-builder.js';
import { activation, type LayerContext } from './layers.js';
import type { KerasLayer, Weight } from './read-layers-model.js';

/**
 * Nearest-neighbour upsampling by s followed by a k×k convolution is, exactly, a convolution at
 * the LOW resolution with s²·C_out channels followed by a depth-to-space by s ("sub-pixel
 * convolution"). Output pixel (Y = y·s + i) reads upsampled row Y + dy, which is low-res row
 * y + floor((i + dy) / s): so the taps of each sub-position (i, j) that land on the same low-res
 * pixel are summed into one weight. Zero padding agrees too (an upsampled row is outside the image
 * exactly when its low-res row is).
 *
 * Why bother: the RDN models (slim, medium, default) end with UpSampling2D(s) on 12–192 channels
 * and a 3×3 conv down to 3 channels at full output size. Run literally, that materialises an
 * s²-times larger tensor (at ×8, 64× the 192-channel feature map) and a convolution with only 3
 * output channels, which GEMM kernels handle badly. Same multiply count after the rewrite, at a
 * fraction of the memory traffic. The equivalence test checks the result against TensorFlow.js.
 */

/** True when `upsample → conv` can be rewritten: nearest, stride 1, no dilation, SAME, odd kernel. */
export function canFuse(upsample: KerasLayer, conv: KerasLayer): boolean {
  const u = upsample.config;
  const c = conv.config;
  const ones = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => x === 1)) || v === 1;
  const size = u.size as unknown;
  const kernel = c.kernel_size as unknown;
  return (
    upsample.class_name === 'UpSampling2D' &&
    conv.class_name === 'Conv2D' &&
    (u.interpolation ?? 'nearest') === 'nearest' &&
    (u.data_format ?? 'channels_last') === 'channels_last' &&
    (c.data_format ?? 'channels_last') === 'channels_last' &&
    Array.isArray(size) &&
    size.length === 2 &&
    size[0] === size[1] &&
    typeof size[0] === 'number' &&
    size[0] >= 1 &&
    Array.isArray(kernel) &&
    kernel.length === 2 &&
    kernel[0] === kernel[1] &&
    typeof kernel[0] === 'number' &&
    kernel[0] % 2 === 1 &&
    c.padding === 'same' &&
    ones(c.strides) &&
    ones(c.dilation_rate) &&
    (c.groups ?? 1) === 1
  );
}

/**
 * Fold a Keras `[k, k, C_in, C_out]` kernel applied after ×s nearest upsampling into the
 * equivalent low-resolution ONNX kernel `[s·s·C_out, C_in, K, K]` (K = 2·ceil(r/s) + 1, r = (k-1)/2),
 * output channels ordered `(i·s + j)·C_out + c` as DepthToSpace (DCR) expects.
 */
export function foldKernel(kernel: Weight, s: number): { weight: Weight; size: number } {
  const [k, , cin, cout] = kernel.shape as [number, number, number, number];
  const r = (k - 1) / 2;
  const R = Math.ceil(r / s);
  const K = 2 * R + 1;
  const acc = new Float64Array(s * s * cout * cin * K * K);
  for (let i = 0; i < s; i++)
    for (let j = 0; j < s; j++)
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          const a = Math.floor((i + dy) / s) + R;
          const b = Math.floor((j + dx) / s) + R;
          for (let c = 0; c < cout; c++) {
            const oc = (i * s + j) * cout + c;
            for (let ci = 0; ci < cin; ci++) {
              acc[((oc * cin + ci) * K + a) * K + b]! += kernel.values[(((dy + r) * k + (dx + r)) * cin + ci) * cout + c]!;
            }
          }
        }
  return { weight: { shape: [s * s * cout, cin, K, K], values: Float32Array.from(acc) }, size: K };
}

/** Emit the fused `Conv → DepthToSpace (→ activation)` for an upsample+conv pair; `ctx` is the conv's. */
export function subpixelConv(ctx: LayerContext, scale: number): string {
  const kernel = ctx.weight('kernel');
  if (!kernel || kernel.shape.length !== 4) throw new Error(`layer ${ctx.name}: missing 4-D kernel weight`);
  const { weight, size } = foldKernel(kernel, scale);
  const R = (size - 1) / 2;
  const inputs = [ctx.inputs[0]!, ctx.g.floatTensor(`${ctx.name}_W_subpixel`, weight.shape, weight.values)];
  if (ctx.layer.config.use_bias !== false) {
    const bias = ctx.weight('bias');
    if (!bias) throw new Error(`layer ${ctx.name}: use_bias is set but there is no bias weight`);
    const tiled = new Float32Array(scale * scale * bias.values.length);
    for (let p = 0; p < scale * scale; p++) tiled.set(bias.values, p * bias.values.length);
    inputs.push(ctx.g.floatTensor(`${ctx.name}_B_subpixel`, [tiled.length], tiled));
  }
  const conv = ctx.g.node('Conv', inputs, `${ctx.name}_subpixel`, {
    kernel_shape: attr.ints([size, size]),
    strides: attr.ints([1, 1]),
    dilations: attr.ints([1, 1]),
    group: attr.int(1),
    pads: attr.ints([R, R, R, R]),
  });
  const shuffled = ctx.g.node('DepthToSpace', [conv], ctx.name, { blocksize: attr.int(scale), mode: attr.string('DCR') });
  return activation(ctx.g, shuffled, ctx.layer.config.activation, `${ctx.name}_act`);
}
