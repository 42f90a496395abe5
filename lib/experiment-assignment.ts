import { createHash } from 'node:crypto';

/**
 * Deterministic traffic split for experiments, computed the same way by the origin (here) and by
 * the Varnish edge (cdn/varnish/default.vcl), so a visitor sees one variant wherever it is served.
 *
 * The hash is the one Varnish 7 computes without extra vmods: `directors.shard().key(s)` is the
 * last four bytes of SHA-256(s) read as a little-endian uint32 (checked against varnishd 7.1 in
 * test/e2e/experiments-varnish.test.ts). The bucket is that number modulo {@link BUCKETS}.
 */

/** Buckets a visitor can fall in: weights are resolved to 0.01 % of traffic. */
export const BUCKETS = 10_000;

/** A visitor id as the edge accepts it (the VCL checks the same pattern): anything else sees the control. */
export const VISITOR_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The header a visitor id may come in; a cookie the merchant names per experiment is the other way. */
export const VISITOR_HEADER = 'x-visitor-id';

/** The visitor's bucket in `[0, BUCKETS)`: hash of `<experimentId>:<visitorId>`. */
export function visitorBucket(experimentId: string, visitorId: string): number {
  const digest = createHash('sha256').update(`${experimentId}:${visitorId}`).digest();
  return digest.readUInt32LE(28) % BUCKETS;
}

/**
 * Cumulative bucket boundaries for the weights (any positive numbers): variant `i` owns buckets
 * `[cuts[i-1], cuts[i])`, and the last cut is {@link BUCKETS}. Rounded by largest remainder, so the
 * shares add up exactly and each is within one bucket of its weight.
 */
export function cutPoints(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / total) * BUCKETS);
  const shares = exact.map(Math.floor);
  let left = BUCKETS - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left-- <= 0) break;
    shares[i]! += 1;
  }
  let sum = 0;
  return shares.map((s) => (sum += s));
}

/** The index of the variant that owns `bucket`. */
export function variantAt(cuts: readonly number[], bucket: number): number {
  const index = cuts.findIndex((cut) => bucket < cut);
  return index === -1 ? cuts.length - 1 : index;
}

/** The variant index a visitor is assigned, or `undefined` for a missing or malformed id (the caller shows the control). */
export function assignVariant(experimentId: string, visitorId: string | undefined, cuts: readonly number[]): number | undefined {
  if (visitorId === undefined || !VISITOR_ID_PATTERN.test(visitorId)) return undefined;
  return variantAt(cuts, visitorBucket(experimentId, visitorId));
}
