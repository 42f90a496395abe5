import sharp from 'sharp';

/**
 * The libvips loaders allowed to read untrusted uploads: JPEG, PNG, WebP, HEIF/AVIF, TIFF and GIF.
 * Every other loader (SVG, PDF, Magick, matrix, FITS, …) is blocked in this process, so even a file
 * that slipped past format sniffing cannot reach a parser we never meant to expose.
 */
export const ALLOWED_LOADERS = [
  'VipsForeignLoadJpeg',
  'VipsForeignLoadPng',
  'VipsForeignLoadWebp',
  'VipsForeignLoadHeif',
  'VipsForeignLoadTiff',
  'VipsForeignLoadNsgif',
];

/** Apply the loader policy to this process (call once per process that decodes uploads). */
export function restrictImageLoaders(): void {
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: ALLOWED_LOADERS });
}
