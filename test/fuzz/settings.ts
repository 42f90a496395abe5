import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { AppError, ERROR_CODES } from '../../lib/errors.js';
import { PROTOTYPE_NAMES } from '../../lib/own-keys.js';

/**
 * One place for the fuzz suite's knobs. `npm test` runs a fixed seed and few cases so that a
 * failure reproduces and the suite stays short; `npm run test:fuzz` runs many more:
 *   FUZZ_SEED=<n>    the seed (a failure prints the seed and path to replay it)
 *   FUZZ_SCALE=<k>   multiply every property's number of cases by k (default 1; test:fuzz uses 20)
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1));

/** fast-check parameters for a property checked `runs` times in `npm test` (times FUZZ_SCALE). */
export function fuzzParams<T>(runs: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: Math.round(runs * SCALE), endOnFailure: true, ...extra };
}

/** Scale a per-test time budget with the number of cases. */
export const fuzzTimeout = (ms: number) => ms * SCALE;

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** The codes the README's error table documents (a row names one or more: "| `A` / `B` | 422 | …"). */
const ERROR_ROWS = README.split('\n')
  .filter((l) => /^\| `[A-Z_]+`/.test(l))
  .map((l) => l.split('|')[1]!);
export const DOCUMENTED_CODES = new Set(ERROR_CODES.filter((c) => ERROR_ROWS.some((cell) => cell.includes(`\`${c}\``))));

/** A refusal the contract allows: a 4xx with a stable code that the README documents. */
export function expectDocumentedRefusal(status: number, code: unknown, what: string): void {
  expect(status, `${what}: status`).toBeGreaterThanOrEqual(400);
  expect(status, `${what}: status`).toBeLessThan(500);
  expect(DOCUMENTED_CODES.has(code as never), `${what}: code ${String(code)} documented in README`).toBe(true);
}

/** Run `fn`; it may succeed or throw an `AppError` that is a documented 4xx. Anything else fails the property. */
export function succeedsOrRefuses<T>(fn: () => T, what: string): T | AppError {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof AppError)) throw new Error(`${what}: threw ${String((err as Error)?.stack ?? err)}`);
    expectDocumentedRefusal(err.status, err.code, what);
    return err;
  }
}

/** Async twin of `succeedsOrRefuses`. */
export async function succeedsOrRefusesAsync<T>(fn: () => Promise<T>, what: string): Promise<T | AppError> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof AppError)) throw new Error(`${what}: threw ${String((err as Error)?.stack ?? err)}`);
    expectDocumentedRefusal(err.status, err.code, what);
    return err;
  }
}

/** Names a hostile client tries: Object.prototype's members, and ordinary words. */
export const hostileName = fc.oneof(
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', ' ', 'render', 'studio', 'red', 'webp', '#ff0000'),
);

/** Text of `{"a":…}` nested `depth` levels around `leaf` (JSON.stringify would recurse). */
export const nestedText = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

/**
 * JSON values with hostile keys and values: prototype names as keys and strings, huge and odd
 * numbers, and occasionally deep nesting (as text spliced in, so it can exceed any stack).
 */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.string({ maxLength: 20 }),
      hostileName,
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(1e308, -0, 2 ** 53, 0.5),
    ),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileName, fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 4 }),
  ),
})).value;
