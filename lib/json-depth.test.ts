import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { checkJsonDepth, jsonDeeperThan, MAX_JSON_DEPTH } from './json-depth.js';

const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown;

describe('JSON nesting depth', () => {
  it('counts arrays and objects, not scalars, and stops exactly at the limit', () => {
    expect(jsonDeeperThan('x', 0)).toBe(false);
    expect(jsonDeeperThan({}, 0)).toBe(true);
    expect(jsonDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(jsonDeeperThan({ a: [{ b: 1 }] }, 2)).toBe(true);
    expect(jsonDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
  });

  it('walks a million levels without recursion and answers 400 BAD_REQUEST with the limit', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(1_000_000)}1${'}'.repeat(1_000_000)}`) as unknown;
    let thrown: unknown;
    try {
      checkJsonDepth(deep, 'The body');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).toJSON()).toEqual({
      error: { code: 'BAD_REQUEST', message: 'The body nests JSON deeper than 32 levels.', details: { maxDepth: 32 } },
    });
    expect((thrown as AppError).status).toBe(400);
  });
});
