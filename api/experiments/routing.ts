import { cutPoints } from '../../lib/experiment-assignment.js';
import type { Experiment, VariantRendition } from '../../records/experiment-store.js';

/** What one stable experiment URL can show: its variants' renditions and how traffic is cut between them. */
export interface Routing {
  /** True while live: views are split (and counted); otherwise everyone sees the control. */
  splitting: boolean;
  variants: Array<{ id: string; key: string }>;
  /** Cumulative bucket boundaries, one per variant (lib/experiment-assignment.ts). */
  cuts: number[];
  /** Index of the control in `variants`: shown to visitors without an id. */
  control: number;
}

const EXTENSIONS: Record<string, VariantRendition['format']> = { avif: 'avif', webp: 'webp', jpg: 'jpeg' };

/** `<width>.<ext>` of an experiment URL, or undefined when it names no rendition. */
export function parseRenditionFile(file: string): { width: number; format: VariantRendition['format'] } | undefined {
  const match = /^([1-9][0-9]{0,5})\.(avif|webp|jpg)$/.exec(file);
  return match ? { width: Number(match[1]), format: EXTENSIONS[match[2]!]! } : undefined;
}

/**
 * The routing of one experiment URL (SKU, channel, width, format); undefined when the experiment
 * has no renditions (not rendered yet, failed) or none of that width, format and channel.
 */
export function routingFor(
  experiment: Experiment,
  sku: string,
  channel: string | undefined,
  file: { width: number; format: VariantRendition['format'] },
): Routing | undefined {
  if (!experiment.renditions) return undefined;
  const splitting = experiment.state === 'live';
  const shown = splitting ? experiment.variants : experiment.variants.filter((v) => v.control);
  const variants: Routing['variants'] = [];
  for (const v of shown) {
    const rendition = experiment.renditions[v.id]?.[sku]?.find(
      (r) => r.channel === channel && r.width === file.width && r.format === file.format,
    );
    if (!rendition) return undefined;
    variants.push({ id: v.id, key: rendition.key });
  }
  return {
    splitting,
    variants,
    cuts: cutPoints(shown.map((v) => v.weight)),
    control: Math.max(
      0,
      shown.findIndex((v) => v.control),
    ),
  };
}
