import { nameTable } from '../lib/own-keys.js';

/**
 * Sales-channel canvases. One template run renders any number of them at once, each with the
 * template's layout rules applied to its own aspect ratio.
 */
export const CHANNEL_PRESETS = nameTable({
  marketplace: { width: 2000, height: 2000, description: 'Marketplace listing (Amazon, eBay): square, 2000 px for zoom' },
  instagram: { width: 1080, height: 1350, description: 'Instagram portrait feed post, 4:5' },
  pinterest: { width: 1000, height: 1500, description: 'Pinterest pin, 2:3' },
  hero: { width: 1920, height: 1080, description: 'Website hero banner, 16:9' },
  thumbnail: { width: 400, height: 400, description: 'Square thumbnail for listings and carts' },
} as const satisfies Record<string, { width: number; height: number; description: string }>);

export type ChannelName = keyof typeof CHANNEL_PRESETS;
export const CHANNEL_NAMES = Object.keys(CHANNEL_PRESETS) as [ChannelName, ...ChannelName[]];
