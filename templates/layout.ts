import type { Template } from './schema.js';

/** Where the product's box lands on a canvas, in whole pixels. */
export interface Placement {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Scale the product so its box fills `fill` of the padded canvas along its limiting side, then
 * put it at `anchor` in the space left (object-position semantics: 0.5 centres it).
 */
export function placeProduct(
  product: { width: number; height: number },
  canvas: { width: number; height: number },
  layout: Template['layout'],
): Placement {
  const padX = canvas.width * layout.padding;
  const padY = canvas.height * layout.padding;
  const availW = canvas.width - 2 * padX;
  const availH = canvas.height - 2 * padY;
  const scale = layout.fill * Math.min(availW / product.width, availH / product.height);
  const width = Math.max(1, Math.min(canvas.width, Math.round(product.width * scale)));
  const height = Math.max(1, Math.min(canvas.height, Math.round(product.height * scale)));
  return {
    left: Math.round(padX + (availW - width) * layout.anchor.x),
    top: Math.round(padY + (availH - height) * layout.anchor.y),
    width,
    height,
  };
}
