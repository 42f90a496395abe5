import { nameTable } from '../lib/own-keys.js';

/** Published image formats, best first (the order of `<source>` elements in a `<picture>`). */
export const OUTPUT_FORMATS = ['avif', 'webp', 'jpeg'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const CONTENT_TYPES = nameTable<Record<OutputFormat, string>>({
  avif: 'image/avif',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
});
