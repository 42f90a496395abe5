import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_IDS, operationIdFor, ROUTE_ERRORS } from '../../api/openapi-operations.js';
import { startTestService, type TestService } from '../harness.js';

const run = promisify(execFile);
const REDOCLY = path.resolve('node_modules/@redocly/cli/bin/cli.js');
const PROBES = new Set(['GET /healthz', 'GET /readyz']);

interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: Array<{ $ref?: string; name?: string }>;
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
}

/** The generated document, linted by Redocly's recommended rules (redocly.yaml) and checked for what they do not cover. */
describe('the OpenAPI document', () => {
  let service: TestService;
  let doc: { paths: Record<string, Record<string, Operation>>; servers?: unknown[]; info: { license?: unknown } };
  let operations: Array<[string, Operation]>;
  let dir: string;

  beforeAll(async () => {
    service = await startTestService();
    doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as typeof doc;
    operations = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.entries(item).map(([m, op]) => [`${m.toUpperCase()} ${p}`, op] as [string, Operation]),
    );
    dir = await mkdtemp(path.join(tmpdir(), 'openapi-lint-'));
  });
  afterAll(async () => {
    await service?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes redocly lint with no error and no warning', async () => {
    const file = path.join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc));
    const result = await run(process.execPath, [REDOCLY, 'lint', file, '--config', 'redocly.yaml', '--format', 'json'], {
      maxBuffer: 64 << 20,
    }).catch((err: { stdout: string }) => err);
    const report = JSON.parse(result.stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 120_000);

  it('names every operation once, with servers and a licence', () => {
    const ids = operations.map(([, op]) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.info.license).toBeDefined();
  });

  it('keeps no stale entry in the operation tables, and derives an id for a route missing from them', () => {
    const keys = new Set(operations.map(([key]) => key));
    expect(Object.keys(OPERATION_IDS).filter((key) => !keys.has(key))).toEqual([]);
    expect(Object.keys(ROUTE_ERRORS).filter((key) => !keys.has(key))).toEqual([]);
    expect(operationIdFor('GET /v1/things/{id}/preview.png')).toBe('getThingsByIdPreviewPng');
  });

  it('gives every operation but the probes a 4xx, and only the public ones no security', () => {
    for (const [key, op] of operations) {
      if (!PROBES.has(key))
        expect(
          Object.keys(op.responses).some((s) => s.startsWith('4')),
          key,
        ).toBe(true);
    }
    const open = operations
      .filter(([, op]) => op.security?.length === 0)
      .map(([key]) => key)
      .sort();
    expect(open).toEqual([
      'DELETE /admin/session',
      'GET /healthz',
      'GET /img/{tenantId}/{assetId}/{source}',
      'GET /readyz',
      'GET /v1/experiments/{id}/impression.gif',
      'POST /v1/experiments/{id}/impressions',
    ]);
  });

  it('types every error as JSON or problem+json, gives 204 and 304 no body, and Retry-After on 429 and 503', () => {
    for (const [key, op] of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        const where = `${key} ${status}`;
        expect(response.headers?.['X-Request-Id'], where).toBeDefined();
        if (status === '204' || status === '304') expect(response.content, where).toBeUndefined();
        if (Number(status) >= 400 && key !== 'GET /readyz') {
          expect(Object.keys(response.content ?? {}).sort(), where).toEqual(['application/json', 'application/problem+json']);
        }
        if (status === '429' || (status === '503' && key !== 'GET /readyz')) expect(response.headers?.['Retry-After'], where).toBeDefined();
      }
    }
  });

  it('declares the bodies the routes read themselves, and Idempotency-Key where it is kept', () => {
    const op = (key: string) =>
      operations.find(([k]) => k === key)![1] as Operation & {
        requestBody?: { content: Record<string, { schema: { properties?: object } }> };
      };
    expect(Object.keys(op('POST /v1/assets').requestBody!.content)).toEqual(['multipart/form-data']);
    expect(Object.keys(op('POST /v1/assets').requestBody!.content['multipart/form-data']!.schema.properties!)).toEqual([
      'recipe',
      'sku',
      'file',
    ]);
    expect(Object.keys(op('POST /v1/batches').requestBody!.content)).toEqual(expect.arrayContaining(['text/csv', 'application/x-ndjson']));
    const takesKey = (key: string) => (op(key).parameters ?? []).some((p) => p.$ref === '#/components/parameters/IdempotencyKey');
    expect(['POST /v1/assets', 'POST /v1/assets/{id}/runs', 'POST /v1/tenants', 'POST /v1/assets/from-url'].every(takesKey)).toBe(true);
    expect(takesKey('GET /v1/assets/{id}')).toBe(false);
  });

  it('renders an [r, g, b] tuple as one item schema, not three identical anyOf items', () => {
    expect(JSON.stringify(doc)).not.toMatch(/"anyOf":\[(\{"type":"integer","minimum":0,"maximum":255\}),\1/);
  });
});
