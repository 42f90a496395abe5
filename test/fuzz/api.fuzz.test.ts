import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, startTestService, type TestService } from '../harness.js';
import { expectDocumentedRefusal, fuzzParams, fuzzTimeout, hostileJson, hostileName, nestedText } from './settings.js';

/** No request may take longer than this: a slower answer counts as a hang. */
const ANSWER_MS = 30_000;

/** The body is read to the end; a 5xx or an undocumented code fails the property. */
async function judged(res: Response, what: string): Promise<{ status: number; body: unknown }> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: only a success may be something else (results, HTML) */
  }
  if (res.status >= 400)
    expectDocumentedRefusal(
      res.status,
      (body as { error?: { code?: string } })?.error?.code,
      `${what} → ${res.status} ${text.slice(0, 200)}`,
    );
  return { status: res.status, body };
}

/** Addresses that never leave the machine (refused as private, or not URLs at all): the fuzz never fetches the Internet. */
const localUrl = fc.oneof(
  fc.constantFrom(
    'http://127.0.0.1/a.jpg',
    'http://[::1]/x',
    'http://10.0.0.1/',
    'ftp://127.0.0.1/a',
    'file:///etc/passwd',
    'http://0/',
    '',
  ),
  hostileName,
);

const jsonRoutes: Array<[string, (id: string) => string, fc.Arbitrary<unknown>]> = [
  [
    'POST',
    () => '/v1/assets/from-url',
    fc.oneof(hostileJson, fc.record({ url: localUrl, recipe: hostileJson, sku: hostileName }, { requiredKeys: ['url'] })),
  ],
  ['POST', () => '/v1/webhooks', fc.oneof(hostileJson, fc.record({ url: localUrl, events: fc.array(hostileName, { maxLength: 3 }) }))],
  ['PUT', (id) => `/v1/templates/${id}`, hostileJson],
  ['POST', (id) => `/v1/templates/${id}/rerender`, hostileJson],
  ['POST', (id) => `/v1/assets/${id}/runs`, fc.oneof(hostileJson, fc.record({ recipe: hostileJson }))],
];

describe('fuzz: the API answers hostile requests with success or a documented 4xx, never a 5xx or a hang', () => {
  let service: TestService;
  let key: string;
  let fish: Buffer;
  const call = (method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}) =>
    fetch(`${service.url}${path}`, {
      method,
      ...init,
      headers: { authorization: `Bearer ${key}`, ...init.headers },
      signal: AbortSignal.timeout(ANSWER_MS),
    });

  beforeAll(async () => {
    service = await startTestService({ WORKER_QUEUES: 'publish', RATE_LIMIT_PER_MINUTE: '100000', UPLOAD_RATE_LIMIT_PER_MINUTE: '100000' });
    ({ key } = await createTenant(service));
    fish = await readFile(fixture('HappyFish.jpg'));
  });
  afterAll(async () => {
    await service?.stop();
  });

  it(
    'JSON bodies on every JSON route: hostile values, prototype names, junk text, deep nesting; keyed or not',
    async () => {
      const text = fc.oneof(
        hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
        fc.string({ maxLength: 80 }),
        fc.integer({ min: 30, max: 50_000 }).map((d) => nestedText(d)),
      );
      const request = fc.integer({ min: 0, max: jsonRoutes.length - 1 }).chain((route) =>
        fc.tuple(
          fc.constant(route),
          fc.oneof(
            text,
            jsonRoutes[route]![2].map((v) => JSON.stringify(v) ?? 'null'),
          ),
        ),
      );
      await fc.assert(
        fc.asyncProperty(
          request,
          fc.option(
            fc.string({ minLength: 1, maxLength: 40 }).map((k) => k.replace(/[^\x21-\x7e]/g, 'k')),
            { nil: undefined },
          ),
          fc.oneof(hostileName, fc.constant('marketplace-white')),
          async ([route, body], idemKey, id) => {
            const [method, path] = jsonRoutes[route]!;
            await judged(
              await call(method, path(encodeURIComponent(id)), {
                body,
                headers: { 'content-type': 'application/json', ...(idemKey ? { 'idempotency-key': idemKey } : {}) },
              }),
              `${method} ${path(id)} ${body.slice(0, 80)}`,
            );
          },
        ),
        fuzzParams(60),
      );
    },
    fuzzTimeout(120_000),
  );

  it(
    'multipart framing: a valid upload cut, spliced, re-bounded or garbled anywhere',
    async () => {
      const boundary = 'fuzzb0undary';
      const valid = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="recipe"\r\n\r\n{"steps":[{"name":"render","options":{"widths":[320]}}]}\r\n`,
        ),
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fish.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
        ),
        fish,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      type Mutation = (b: Buffer) => Buffer;
      const mutation: fc.Arbitrary<Mutation> = fc.oneof(
        fc.double({ min: 0, max: 1, noNaN: true }).map((f) => (b: Buffer) => b.subarray(0, Math.floor(f * b.length))),
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ maxLength: 64 })).map(
          ([f, junk]) =>
            (b: Buffer) =>
              Buffer.concat([b.subarray(0, Math.floor(f * b.length)), Buffer.from(junk), b.subarray(Math.floor(f * b.length))]),
        ),
        fc.constantFrom(
          (b: Buffer) => Buffer.from(b.toString('latin1').replaceAll('\r\n', '\n'), 'latin1'),
          (b: Buffer) => Buffer.from(b.toString('latin1').replace(`--${boundary}--`, ''), 'latin1'),
          (b: Buffer) => Buffer.from(b.toString('latin1').replaceAll('name="file"', 'name="__proto__"'), 'latin1'),
          (b: Buffer) => Buffer.from(b.toString('latin1').replaceAll('name="recipe"', 'name="constructor"'), 'latin1'),
          (b: Buffer) => Buffer.concat([b.subarray(0, 200), b]),
          (b: Buffer) =>
            Buffer.from(b.toString('latin1').replace('form-data; name="recipe"', 'form-data; name="recipe"; filename="r.json"'), 'latin1'),
        ),
      );
      const contentType = fc.constantFrom(
        `multipart/form-data; boundary=${boundary}`,
        'multipart/form-data',
        'multipart/form-data; boundary=other',
        `multipart/mixed; boundary=${boundary}`,
        'text/plain',
        'application/json',
      );
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { maxLength: 3 }), contentType, async (mutations, type) => {
          const body = mutations.reduce<Buffer>((b, m) => m(b), valid);
          await judged(
            await call('POST', '/v1/assets', { body, headers: { 'content-type': type } }),
            `upload (${mutations.length} mutations, ${type})`,
          );
        }),
        fuzzParams(40),
      );
    },
    fuzzTimeout(120_000),
  );

  it(
    'ids in paths and Idempotency-Key values: any printable text',
    async () => {
      const id = fc.oneof(hostileName, fc.string({ maxLength: 100 }), fc.stringMatching(/^(ast|run|bat|whk|tpl)_[0-9a-f]{0,40}$/));
      const getters = [
        '/v1/assets/%s',
        '/v1/runs/%s',
        '/v1/batches/%s',
        '/v1/batches/%s/results',
        '/v1/templates/%s',
        '/v1/assets/%s/picture',
        '/v1/webhooks/%s/deliveries',
      ];
      await fc.assert(
        fc.asyncProperty(id, fc.constantFrom(...getters), async (raw, template) => {
          const path = template.replace('%s', encodeURIComponent(raw) || '%20');
          await judged(await call('GET', path), `GET ${path}`);
          if (template === '/v1/templates/%s') await judged(await call('DELETE', path), `DELETE ${path}`);
        }),
        fuzzParams(60),
      );
      const idemKey = fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        minLength: 0,
        maxLength: 300,
      });
      await fc.assert(
        fc.asyncProperty(idemKey, async (k) => {
          const res = await call('POST', '/v1/webhooks', {
            body: JSON.stringify({ url: 'http://127.0.0.1/h', events: ['run.completed'] }),
            headers: { 'content-type': 'application/json', 'idempotency-key': k },
          });
          await judged(res, `Idempotency-Key ${JSON.stringify(k.slice(0, 40))} (${k.length})`);
        }),
        fuzzParams(30),
      );
    },
    fuzzTimeout(120_000),
  );

  it(
    'catalogs through POST /v1/batches: every non-blank line is accepted, a duplicate or refused at its line, once',
    async () => {
      const line = fc.oneof(
        fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).map((s) => `${s},ast_0123456789abcdef0123456789abcdef`),
        fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' ')),
        fc.integer({ min: 300, max: 3000 }).map((n) => `x,"${'y'.repeat(n)}`),
        fc.constant(''),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 30 }), async (lines) => {
          const res = await call('POST', '/v1/batches', {
            body: `sku,source\n${lines.join('\n')}\n`,
            headers: { 'content-type': 'text/csv' },
          });
          const { status, body } = await judged(res, 'catalog');
          const expected = lines.filter((l) => l.trim() !== '').length;
          if (status !== 202) {
            // Refused whole only when it holds no item line at all.
            expect([expected, status]).toEqual([0, 422]);
            return;
          }
          const b = body as {
            accepted: number;
            rejected: number;
            duplicates: { completed: number; inProgress: number };
            batch: { failures: Array<{ line: number }> };
          };
          expect(b.accepted + b.rejected + b.duplicates.completed + b.duplicates.inProgress).toBe(expected);
          const failed = b.batch.failures.map((f) => f.line);
          expect(new Set(failed).size).toBe(failed.length);
          for (const n of failed) expect(lines[n - 2]?.trim(), `line ${n}`).toBeTruthy();
        }),
        fuzzParams(12),
      );
    },
    fuzzTimeout(120_000),
  );
});
