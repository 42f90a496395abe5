import { describe, expect, it } from 'vitest';
import { AppError, describesRequest, ERROR_CODES, ERROR_TABLE, isPermanent, missingObject } from './errors.js';

describe('error codes', () => {
  it('gives every code one status (and at most one more, documented)', () => {
    expect(Object.keys(ERROR_TABLE).sort()).toEqual([...ERROR_CODES].sort());
    for (const [code, { status, also }] of Object.entries(ERROR_TABLE)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(also?.length ?? 0, code).toBeLessThanOrEqual(1);
    }
  });

  it("takes each error's status from its code (EMPTY_UPLOAD was 400 on two paths, 422 on a third)", () => {
    for (const code of ERROR_CODES) expect(new AppError(code, 'x').status, code).toBe(ERROR_TABLE[code].status);
    // A code's documented second status may be chosen; any other is not.
    expect(new AppError('BAD_REQUEST', 'x', undefined, { status: 431 }).status).toBe(431);
    expect(new AppError('URL_FETCH_FAILED', 'x', undefined, { status: 422 }).status).toBe(422);
    expect(new AppError('NOT_FOUND', 'x', undefined, { status: 503 }).status).toBe(404);
    expect(new AppError('STORAGE_ERROR', 'x', undefined, { status: 404 }).status).toBe(503);
  });

  it('reports a missing object the pipeline wrote as a retried storage failure', () => {
    const err = missingObject('t/tn_1/work/abc.png');
    expect([err.code, err.status, isPermanent(err)]).toEqual(['STORAGE_ERROR', 503, false]);
  });

  it('keeps only answers that describe the request itself', () => {
    expect(describesRequest(202, undefined)).toBe(true);
    expect(describesRequest(422, 'INVALID_RECIPE')).toBe(true);
    expect(describesRequest(400, 'BAD_REQUEST')).toBe(true);
    // Transport failures and dependencies: the same request may go through when sent again.
    expect(describesRequest(408, 'UPLOAD_TIMEOUT')).toBe(false);
    expect(describesRequest(400, 'BODY_INCOMPLETE')).toBe(false);
    expect(describesRequest(429, 'RATE_LIMITED')).toBe(false);
    expect(describesRequest(422, 'URL_FETCH_FAILED')).toBe(false);
    expect(describesRequest(500, 'INTERNAL')).toBe(false);
    expect(describesRequest(503, undefined)).toBe(false);
  });
});
