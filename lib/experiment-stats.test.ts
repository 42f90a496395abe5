import { describe, expect, it } from 'vitest';
import { compareArms, normalCdf, normalQuantile, plannedSampleSize, verdictOf } from './experiment-stats.js';

/**
 * Reference values computed by hand from the textbook formulas (and matching R:
 * `prop.test(c(130, 100), c(1000, 1000), correct = FALSE)` gives X-squared = 4.4214, p = 0.03549;
 * the sample size is Fleiss' formula, worked by hand: ((1.959964 * sqrt(2 * .055 * .945) +
 * 0.841621 * sqrt(.05 * .95 + .06 * .94)) / .01)² = 8157.7 per arm).
 */
describe('experiment statistics', () => {
  it('has an accurate normal CDF and quantile', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  });

  it('matches the reference on fixed counts: 100/1000 control, 130/1000 variant', () => {
    const c = compareArms({ visitors: 1000, converters: 100 }, { visitors: 1000, converters: 130 });
    // difference 0.03; unpooled SE sqrt(.1*.9/1000 + .13*.87/1000) = 0.0142513; ± 1.959964 SE
    expect(c.difference).toBeCloseTo(0.03, 10);
    expect(c.differenceInterval![0]).toBeCloseTo(0.002068, 5);
    expect(c.differenceInterval![1]).toBeCloseTo(0.057932, 5);
    // pooled p 0.115, SE 0.0142671, z 2.10274, p = 0.03549 (z² = 4.4214, R's X-squared)
    expect(c.pValue).toBeCloseTo(0.03549, 4);
    expect(c.significant).toBe(true);
    // lift 0.3; log RR 0.262364 ± 1.959964 * sqrt(1/130 - 1/1000 + 1/100 - 1/1000) = 0.125269
    expect(c.lift).toBeCloseTo(0.3, 10);
    expect(c.liftInterval![0]).toBeCloseTo(Math.exp(0.262364 - 1.959964 * 0.125269) - 1, 4);
    expect(c.liftInterval![1]).toBeCloseTo(Math.exp(0.262364 + 1.959964 * 0.125269) - 1, 4);
  });

  it('widens the interval with a Bonferroni split between variants', () => {
    const one = compareArms({ visitors: 1000, converters: 100 }, { visitors: 1000, converters: 130 });
    const two = compareArms({ visitors: 1000, converters: 100 }, { visitors: 1000, converters: 130 }, 0.05, 2);
    expect(two.differenceInterval![0]).toBeLessThan(one.differenceInterval![0]);
    expect(two.significant).toBe(false); // p 0.035 > 0.025
  });

  it('plans the sample size by the textbook formula', () => {
    expect(plannedSampleSize({ baselineRate: 0.05, minimumDetectableEffect: 0.2, alpha: 0.05, power: 0.8 })).toBe(8158);
  });

  it('gives a verdict only once every arm has its planned visitors', () => {
    const control = { visitors: 1000, converters: 100 };
    const counts = { visitors: 1000, converters: 130 };
    const variants = [{ id: 'b', counts, comparison: compareArms(control, counts) }];
    expect(verdictOf(control, variants, 1001)).toEqual({ verdict: 'insufficient-data', winner: null });
    expect(verdictOf(control, variants, 1000)).toEqual({ verdict: 'variant-wins', winner: 'b' });
    const worse = { visitors: 1000, converters: 70 };
    expect(verdictOf(control, [{ id: 'b', counts: worse, comparison: compareArms(control, worse) }], 1000).verdict).toBe('control-wins');
  });

  it('leaves what cannot be computed null', () => {
    const c = compareArms({ visitors: 0, converters: 0 }, { visitors: 10, converters: 1 });
    expect(c).toMatchObject({ difference: null, pValue: null, significant: false });
  });
});
