import { AppError } from './errors.js';

/**
 * Deepest nesting of arrays and objects accepted in any JSON from a client: a body, a form field,
 * a catalog line or cell. The deepest document of ours (a template) is 5 levels; 32 leaves room
 * while keeping every recursive walk after it (canonical forms for idempotency keys and content
 * hashes, zod, structuredClone) far from the stack's limit. A 100,000-deep recipe once made 500.
 */
export const MAX_JSON_DEPTH = 32;

/** Whether a parsed JSON value nests arrays/objects deeper than `limit` (a scalar is 0 deep, `{}` 1). Walks without recursion. */
export function jsonDeeperThan(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** The 400 for JSON nested past the limit; `what` names the body or field ("The body", "The `recipe` field"). */
export const tooDeep = (what: string): AppError =>
  new AppError('BAD_REQUEST', `${what} nests JSON deeper than ${MAX_JSON_DEPTH} levels.`, { maxDepth: MAX_JSON_DEPTH });

/** Throw `tooDeep(what)` when a parsed value nests past the limit. */
export function checkJsonDepth(value: unknown, what: string): void {
  if (jsonDeeperThan(value)) throw tooDeep(what);
}
