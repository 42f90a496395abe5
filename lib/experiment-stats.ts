/**
 * Statistics for experiment results: a fixed-horizon two-proportion test per variant against the
 * control. Why fixed horizon: it is the test merchants can check by hand (and with any stats
 * package), and it stays valid as long as nobody acts on it early. So the sample size is planned
 * up front ({@link plannedSampleSize}) and a verdict is given only once every arm has reached it;
 * before that, intervals are shown but labelled as not final. With several variants the
 * significance level is split between them (Bonferroni), keeping the chance of any false winner
 * at alpha.
 *
 * The unit is the visitor: a variant's trials are its unique visitors with an impression, its
 * successes the visitors among them who converted at least once.
 */

/** Standard normal CDF (Zelen & Severo 26.2.17 via erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError('p must lie in (0, 1)');
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** The plan fixed when an experiment is created. */
export interface ExperimentPlan {
  /** Expected conversion rate of the control, e.g. 0.05. */
  baselineRate: number;
  /** Smallest relative lift worth detecting, e.g. 0.2 for +20 %. */
  minimumDetectableEffect: number;
  /** Two-sided significance level for the whole experiment (split between the variants). */
  alpha: number;
  /** Chance of detecting the minimum effect when it is there. */
  power: number;
}

/**
 * Visitors per arm for a two-sided two-proportion z-test (the usual formula with the pooled
 * variance under the null and the separate ones under the alternative), at `alpha / comparisons`.
 */
export function plannedSampleSize(plan: ExperimentPlan, comparisons = 1): number {
  const p1 = plan.baselineRate;
  const p2 = Math.min(0.999999, p1 * (1 + plan.minimumDetectableEffect));
  const zAlpha = normalQuantile(1 - plan.alpha / comparisons / 2);
  const zBeta = normalQuantile(plan.power);
  const mean = (p1 + p2) / 2;
  const root = zAlpha * Math.sqrt(2 * mean * (1 - mean)) + zBeta * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((root * root) / ((p2 - p1) * (p2 - p1)));
}

/** One arm's counts: unique visitors exposed and how many of them converted. */
export interface ArmCounts {
  visitors: number;
  converters: number;
}

/** A variant against the control. Null fields: not computable yet (no visitors, or no conversions). */
export interface Comparison {
  /** Absolute difference of conversion rates, variant − control. */
  difference: number | null;
  /** 95 % (Bonferroni-adjusted when several variants) Wald interval of the difference. */
  differenceInterval: [number, number] | null;
  /** Relative lift, variant / control − 1. */
  lift: number | null;
  /** Interval of the lift from the log risk ratio (Katz), at the same level. */
  liftInterval: [number, number] | null;
  /** Two-sided p-value of the pooled two-proportion z-test. */
  pValue: number | null;
  /** True when p < alpha / comparisons. */
  significant: boolean;
}

const rate = (a: ArmCounts) => (a.visitors > 0 ? a.converters / a.visitors : null);

/** Compare `variant` with `control` at two-sided level `alpha / comparisons`. */
export function compareArms(control: ArmCounts, variant: ArmCounts, alpha = 0.05, comparisons = 1): Comparison {
  const pc = rate(control);
  const pv = rate(variant);
  if (pc === null || pv === null) {
    return { difference: null, differenceInterval: null, lift: null, liftInterval: null, pValue: null, significant: false };
  }
  const level = alpha / comparisons;
  const z = normalQuantile(1 - level / 2);
  const difference = pv - pc;
  const se = Math.sqrt((pc * (1 - pc)) / control.visitors + (pv * (1 - pv)) / variant.visitors);
  const pooled = (control.converters + variant.converters) / (control.visitors + variant.visitors);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / control.visitors + 1 / variant.visitors));
  const pValue = sePooled > 0 ? 2 * (1 - normalCdf(Math.abs(difference) / sePooled)) : null;
  let lift: number | null = null;
  let liftInterval: [number, number] | null = null;
  if (control.converters > 0 && variant.converters > 0) {
    lift = pv / pc - 1;
    const seLog = Math.sqrt(1 / variant.converters - 1 / variant.visitors + 1 / control.converters - 1 / control.visitors);
    const log = Math.log(pv / pc);
    liftInterval = [Math.exp(log - z * seLog) - 1, Math.exp(log + z * seLog) - 1];
  }
  return {
    difference,
    differenceInterval: [difference - z * se, difference + z * se],
    lift,
    liftInterval,
    pValue,
    significant: pValue !== null && pValue < level,
  };
}

/** What the results say; `insufficient-data` until every arm has its planned visitors. */
export type Verdict = 'insufficient-data' | 'no-significant-difference' | 'variant-wins' | 'control-wins';

/**
 * The verdict once every arm reached `planned` visitors: the significantly best variant wins if it
 * beats the control; the control wins if every variant is significantly worse; otherwise none.
 */
export function verdictOf(
  control: ArmCounts,
  variants: ReadonlyArray<{ id: string; counts: ArmCounts; comparison: Comparison }>,
  planned: number,
): { verdict: Verdict; winner: string | null } {
  if ([control, ...variants.map((v) => v.counts)].some((a) => a.visitors < planned)) return { verdict: 'insufficient-data', winner: null };
  const better = variants.filter((v) => v.comparison.significant && (v.comparison.difference ?? 0) > 0);
  if (better.length) {
    const best = better.reduce((a, b) => ((b.comparison.difference ?? 0) > (a.comparison.difference ?? 0) ? b : a));
    return { verdict: 'variant-wins', winner: best.id };
  }
  if (variants.length && variants.every((v) => v.comparison.significant && (v.comparison.difference ?? 0) < 0)) {
    return { verdict: 'control-wins', winner: null };
  }
  return { verdict: 'no-significant-difference', winner: null };
}
