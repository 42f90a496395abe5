import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOTYPE_NAMES } from '../../lib/own-keys.js';
import { MAX_JSON_DEPTH } from '../../lib/json-depth.js';
import { createTenant, fixture, jsonApi, startTestService, upload, waitForBatch, type TestService } from '../harness.js';

type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };

/** `{"a":{"a":…1…}}` nested `depth` levels, as text (JSON.stringify itself would recurse). */
const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

describe('names and nesting from input', () => {
  let service: TestService;
  let key: string;
  let fish: Buffer;
  const api = jsonApi(
    () => service,
    () => key,
  );
  const raw = (method: string, path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body,
    });

  const uploadWithRecipeText = (recipe: string) => {
    const form = new FormData();
    form.append('recipe', recipe);
    form.append('file', new Blob([fish], { type: 'image/jpeg' }), 'fish.jpg');
    return fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  };

  beforeAll(async () => {
    service = await startTestService({ WORKER_QUEUES: 'publish,batch' });
    ({ key } = await createTenant(service));
    fish = await readFile(fixture('HappyFish.jpg'));
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('refuses Object.prototype member names wherever a name is looked up, with a 4xx code, never 500', async () => {
    const generate = (options: Record<string, unknown>) => ({
      steps: [{ name: 'generate', options: { template: 'marketplace-white', ...options } }, { name: 'render' }],
    });
    for (const name of PROTOTYPE_NAMES) {
      const recipes: Array<[string, unknown, string | string[]]> = [
        ['colourway', generate({ colourway: name }), 'INVALID_COLOUR'],
        ['template', generate({ template: name }), ['INVALID_RECIPE', 'UNKNOWN_TEMPLATE']],
        ['channel', generate({ channels: [name] }), 'INVALID_RECIPE'],
        ['step', { steps: [{ name }, { name: 'render' }] }, 'INVALID_RECIPE'],
        ['format', { steps: [{ name: 'render', options: { formats: [name] } }] }, 'INVALID_RECIPE'],
        ['upscale model', { steps: [{ name: 'upscale', options: { factor: 2, model: name } }, { name: 'render' }] }, 'INVALID_RECIPE'],
      ];
      for (const [where, recipe, code] of recipes) {
        const res = await upload(service, key, fish, { filename: 'fish.jpg', type: 'image/jpeg', recipe });
        const body = (await res.json()) as ErrorBody;
        expect(res.status, `${where} "${name}"`).toBe(422);
        expect([code].flat(), `${where} "${name}"`).toContain(body.error?.code);
      }
      const template = await api('GET', `/v1/templates/${encodeURIComponent(name)}`);
      expect(template.status, `template id "${name}"`).toBeLessThan(500);
      expect(template.status).toBeGreaterThanOrEqual(400);
    }
  });

  it('fails a catalog item whose colourway is a prototype name on its line with INVALID_COLOUR, at once (not INTERNAL after retries)', async () => {
    const up = (await (await upload(service, key, fish, { filename: 'fish.jpg', type: 'image/jpeg' })).json()) as { asset: { id: string } };
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    const body = names
      .map((name, i) =>
        JSON.stringify({
          sku: `proto-${i}`,
          source: up.asset.id,
          recipe: { steps: [{ name: 'generate', options: { template: 'marketplace-white', colourway: name } }, { name: 'render' }] },
        }),
      )
      .join('\n');
    const res = await fetch(`${service.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
      body,
    });
    expect(res.status).toBe(202);
    const { batch } = (await res.json()) as { batch: { id: string } };
    const done = await waitForBatch(service, key, batch.id);
    expect(done.counts).toMatchObject({ total: names.length, failed: names.length });
    expect(done.failures.map((f) => [f.line, f.code]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      names.map((_, i) => [i + 1, 'INVALID_COLOUR']),
    );
  });

  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels in every body and field with 400 BAD_REQUEST, keyed or not`, async () => {
    const deepRecipe = `{"steps":[{"name":"render","options":${nested(100_000)}}]}`;
    const keyed = { 'idempotency-key': `deep-${Date.now()}` };
    const answers: Array<[string, Response]> = [
      ['from-url, keyed', await raw('POST', '/v1/assets/from-url', `{"url":"https://example.com/a.jpg","recipe":${deepRecipe}}`, keyed)],
      ['from-url', await raw('POST', '/v1/assets/from-url', `{"url":"https://example.com/a.jpg","recipe":${deepRecipe}}`)],
      [
        'webhooks, keyed',
        await raw('POST', '/v1/webhooks', `{"url":"https://example.com/h","events":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, {
          'idempotency-key': `deep-w-${Date.now()}`,
        }),
      ],
      ['template', await raw('PUT', '/v1/templates/deep', nested(100_000))],
      // Within the 64 KiB a form field may hold.
      ['recipe form field', await uploadWithRecipeText(`{"steps":[{"name":"render","options":${nested(5_000)}}]}`)],
    ];
    for (const [where, res] of answers) {
      const body = (await res.json()) as ErrorBody;
      expect([res.status, body.error?.code], where).toEqual([400, 'BAD_REQUEST']);
      expect(body.error.details, where).toMatchObject({ maxDepth: MAX_JSON_DEPTH });
    }
    // At the limit the body is read, and judged on its content.
    const atLimit = await raw(
      'POST',
      '/v1/assets/from-url',
      `{"url":"https://example.com/a.jpg","recipe":{"steps":[{"name":"render","options":${nested(MAX_JSON_DEPTH - 4)}}]}}`,
    );
    expect(atLimit.status).toBe(422);
    expect(((await atLimit.json()) as ErrorBody).error.code).toBe('INVALID_RECIPE');
  });

  it('stores and returns a sanitised, bounded file name: no NUL, bidi or line breaks, at most 255 bytes', async () => {
    let n = 0;
    const send = (filename: string) => {
      // Other bytes each time (past the JPEG's end), so each upload makes its own asset.
      const image = Buffer.concat([fish, Buffer.from(`name-${(n += 1)}-${Date.now()}`)]);
      const boundary = 'b0undary';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`;
      const body = Buffer.concat([Buffer.from(head, 'utf8'), image, Buffer.from(`\r\n--${boundary}--\r\n`)]);
      return fetch(`${service.url}/v1/assets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body,
      });
    };
    const cases: Array<[string, string | undefined]> = [
      ['fish\u0000.jpg', 'fish.jpg'],
      ['invoice\u202Egpj.jpg', 'invoicegpj.jpg'],
      [`${'a'.repeat(10_000)}.jpg`, `${'a'.repeat(251)}.jpg`],
      ['\u200B\u2066', undefined],
    ];
    for (const [given, stored] of cases) {
      const res = await send(given);
      expect(res.status, JSON.stringify(given.slice(0, 20))).toBe(202);
      const { asset } = (await res.json()) as { asset: { id: string; original: { filename?: string } } };
      const shown = (await (await api('GET', `/v1/assets/${asset.id}`)).json()) as {
        asset?: { original: { filename?: string } };
        original?: { filename?: string };
      };
      for (const filename of [asset.original.filename, (shown.asset ?? shown).original?.filename]) {
        if (stored === undefined) expect(filename === undefined || !/[\u0000-\u001f\u200b\u2066]/.test(filename)).toBe(true);
        else expect(filename).toBe(stored);
      }
    }
  });
});
