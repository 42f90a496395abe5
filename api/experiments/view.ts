import { z } from 'zod';
import { experimentPrefix, FORMAT_EXTENSIONS } from '../../cdn/keys.js';
import type { PictureSet } from '../../cdn/picture.js';
import { compareArms, verdictOf } from '../../lib/experiment-stats.js';
import type { Experiment, VariantCounts } from '../../records/experiment-store.js';
import { OUTPUT_FORMATS } from '../../cdn/formats.js';

const interval = z.tuple([z.number(), z.number()]).nullable();

export const experimentSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(['rendering', 'live', 'paused', 'stopped', 'failed']),
  createdAt: z.string(),
  endedAt: z.string().optional(),
  batchId: z.string().describe('The catalog batch rendering every variant of every SKU.'),
  visitorCookie: z.string().optional(),
  variants: z.array(
    z.object({
      id: z.string(),
      weight: z.number(),
      control: z.boolean(),
      template: z.object({ id: z.string(), params: z.record(z.string(), z.unknown()).optional() }).optional(),
    }),
  ),
  skus: z.array(
    z.object({
      sku: z.string(),
      assetId: z.string(),
      url: z.string().describe('The stable experiment URLs of the SKU start here: `<width>.<ext>`, `<channel>/<width>.<ext>`.'),
      srcset: z.record(z.string(), z.string()).describe('Per format, once live: the srcset of the stable experiment URLs.'),
    }),
  ),
  plan: z.object({
    baselineRate: z.number(),
    minimumDetectableEffect: z.number(),
    alpha: z.number(),
    power: z.number(),
    visitorsPerVariant: z.number().int().describe('Unique visitors each variant needs before a verdict is given.'),
  }),
  failures: z.array(z.object({ sku: z.string(), variant: z.string(), message: z.string() })).optional(),
  promoted: z
    .object({ variant: z.string(), batchId: z.string().nullable(), queued: z.number().int(), unchanged: z.number().int() })
    .optional(),
});

export const resultsSchema = z.object({
  id: z.string(),
  state: experimentSchema.shape.state,
  test: z.string().describe('Which statistical test and why.'),
  alpha: z.number(),
  comparisons: z.number().int(),
  plannedVisitorsPerVariant: z.number().int(),
  verdict: z.enum(['insufficient-data', 'no-significant-difference', 'variant-wins', 'control-wins']),
  winner: z.string().nullable(),
  variants: z.array(
    z.object({
      id: z.string(),
      control: z.boolean(),
      impressions: z.number().int(),
      visitors: z.number().int(),
      conversions: z.number().int(),
      converters: z.number().int(),
      value: z.number(),
      conversionRate: z.number().nullable(),
      difference: z.number().nullable(),
      differenceInterval: interval,
      lift: z.number().nullable(),
      liftInterval: interval,
      pValue: z.number().nullable(),
      significant: z.boolean(),
    }),
  ),
});

/** The srcset of a SKU's stable experiment URLs, per format (from the control's renditions: every variant has the same). */
export function experimentPictureSet(experiment: Experiment, sku: string, channel: string | undefined, urlFor: (key: string) => string) {
  const control = experiment.variants.find((v) => v.control)!;
  const renditions = (experiment.renditions?.[control.id]?.[sku] ?? []).filter((r) => r.channel === channel);
  const base = `${experimentPrefix(experiment.tenantId, experiment.id, sku)}${channel ? `${channel}/` : ''}`;
  const url = (r: { width: number; format: keyof typeof FORMAT_EXTENSIONS }) => urlFor(`${base}${r.width}.${FORMAT_EXTENSIONS[r.format]}`);
  const srcset: Record<string, string> = {};
  for (const format of OUTPUT_FORMATS) {
    const list = renditions.filter((r) => r.format === format).sort((a, b) => a.width - b.width);
    if (list.length) srcset[format] = list.map((r) => `${url(r)} ${r.width}w`).join(', ');
  }
  const fallbackFormat = (['jpeg', 'webp', 'avif'] as const).find((f) => srcset[f]);
  const fallback = renditions.filter((r) => r.format === fallbackFormat).sort((a, b) => b.width - a.width)[0];
  const picture: PictureSet | undefined = fallback
    ? {
        srcset,
        fallback: { url: url(fallback), width: fallback.width, height: fallback.height, format: fallback.format },
        dominantColor: 'transparent',
      }
    : undefined;
  return { srcset, picture };
}

/** The experiment as the API shows it. */
export function experimentView(experiment: Experiment, urlFor: (key: string) => string): z.output<typeof experimentSchema> {
  const { renditions: _r, tenantId: _t, variants, skus, ...rest } = experiment;
  return {
    ...rest,
    variants: variants.map(({ recipe: _recipe, ...v }) => v),
    skus: skus.map((s) => ({
      ...s,
      url: urlFor(experimentPrefix(experiment.tenantId, experiment.id, s.sku)),
      srcset: experimentPictureSet(experiment, s.sku, undefined, urlFor).srcset,
    })),
  };
}

/** Per-variant counts, rates and comparisons with the control, and the verdict (lib/experiment-stats.ts). */
export function resultsView(experiment: Experiment, counts: Record<string, VariantCounts>): z.output<typeof resultsSchema> {
  const control = experiment.variants.find((v) => v.control)!;
  const arm = (id: string) => ({ visitors: counts[id]!.visitors, converters: counts[id]!.converters });
  const comparisons = Math.max(1, experiment.variants.length - 1);
  const { alpha, visitorsPerVariant } = experiment.plan;
  const rows = experiment.variants.map((v) => {
    const c = counts[v.id]!;
    const comparison = v.control
      ? { difference: null, differenceInterval: null, lift: null, liftInterval: null, pValue: null, significant: false }
      : compareArms(arm(control.id), arm(v.id), alpha, comparisons);
    return { id: v.id, control: v.control, ...c, conversionRate: c.visitors ? c.converters / c.visitors : null, ...comparison };
  });
  const others = rows.filter((r) => !r.control).map((r) => ({ id: r.id, counts: arm(r.id), comparison: r }));
  const { verdict, winner } = verdictOf(arm(control.id), others, visitorsPerVariant);
  return {
    id: experiment.id,
    state: experiment.state,
    test:
      'Two-sided two-proportion z-test (pooled) per variant against the control, fixed horizon: the sample size is planned at ' +
      'creation and a verdict is given only once every variant has that many unique visitors, so looking early cannot inflate ' +
      'false positives. Alpha is split between the variants (Bonferroni). Intervals: Wald for the difference, log risk ratio for the lift.',
    alpha,
    comparisons,
    plannedVisitorsPerVariant: visitorsPerVariant,
    verdict,
    winner,
    variants: rows,
  };
}
