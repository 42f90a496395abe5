import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError, badInput, describesRequest, ERROR_CODES, ERROR_TABLE } from './errors.js';

const root = path.resolve(import.meta.dirname, '..');

async function sourceFiles(): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`) && !f.includes(`${path.sep}dist${path.sep}`));
}

describe('error codes', () => {
  it('gives every code one status (and at most one more, documented)', () => {
    expect(Object.keys(ERROR_TABLE).sort()).toEqual([...ERROR_CODES].sort());
    for (const [code, { status, also }] of Object.entries(ERROR_TABLE)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(also?.length ?? 0, code).toBeLessThanOrEqual(1);
    }
  });

  it("raises each code with its table status everywhere in the source (EMPTY_UPLOAD was 400 on two paths, 422 on a third)", async () => {
    const wrong: string[] = [];
    for (const file of await sourceFiles()) {
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/new AppError\(\s*(\d{3}),\s*'([A-Z_]+)'/g)) {
        const entry = ERROR_TABLE[m[2] as keyof typeof ERROR_TABLE];
        const allowed = entry ? [entry.status, ...(entry.also ?? [])] : [];
        if (!allowed.includes(Number(m[1]))) wrong.push(`${path.relative(root, file)}: ${m[2]} raised with ${m[1]} (table: ${allowed.join('/') || 'no such code'})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('takes the status from the table in badInput', () => {
    expect(badInput('EMPTY_UPLOAD', 'x').status).toBe(400);
    expect(badInput('UPLOAD_TOO_LARGE', 'x').status).toBe(413);
    expect(badInput('CORRUPT_IMAGE', 'x')).toBeInstanceOf(AppError);
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
