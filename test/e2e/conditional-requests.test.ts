import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, startTestService, upload, type TestService } from '../harness.js';

const mine = {
  name: 'Shop teal',
  description: 'Teal backdrop',
  backdrop: { type: 'solid', colour: '#008080' },
  layout: { fill: 0.7, padding: 0.05 },
};
type ErrorBody = { error: { code: string; message: string } };

describe('conditional requests: ETag, If-None-Match, If-Match', () => {
  let service: TestService;
  let key: string;
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    // No render worker: the run stays queued, so its record holds still while it is read twice.
    service = await startTestService({ WORKER_QUEUES: 'publish' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  it('refuses a lost update on a template with 412, and lets the up-to-date writer through', async () => {
    const created = await call('PUT', '/v1/templates/teal', {}, mine);
    expect(created.status).toBe(201);
    const first = created.headers.get('etag')!;
    const { version } = (await created.json()) as { version: string };
    expect(first).toBe(`"${version}"`); // strong: the template's version
    expect((await call('GET', '/v1/templates/teal')).headers.get('etag')).toBe(first);

    // Two editors read the same version; the first to write wins.
    const alice = await call('PUT', '/v1/templates/teal', { 'if-match': first }, { ...mine, name: 'Alice' });
    expect(alice.status).toBe(200);
    const second = alice.headers.get('etag')!;
    expect(second).not.toBe(first);
    const bob = await call('PUT', '/v1/templates/teal', { 'if-match': first }, { ...mine, name: 'Bob' });
    expect(bob.status).toBe(412);
    expect(((await bob.json()) as ErrorBody).error.code).toBe('PRECONDITION_FAILED');
    expect(((await (await call('GET', '/v1/templates/teal')).json()) as { name: string }).name).toBe('Alice');

    // If-Match compares strongly: a weak tag never matches; a list may.
    expect((await call('PUT', '/v1/templates/teal', { 'if-match': `W/${second}` }, mine)).status).toBe(412);
    expect((await call('DELETE', '/v1/templates/teal', { 'if-match': first })).status).toBe(412);
    expect((await call('DELETE', '/v1/templates/teal', { 'if-match': `"other", ${second}` })).status).toBe(204);
    // `*` needs the template to exist: built-ins exist, a deleted one does not.
    expect((await call('PUT', '/v1/templates/teal', { 'if-match': '*' }, mine)).status).toBe(412);
    expect((await call('GET', '/v1/templates/teal')).status).toBe(404);
  });

  it("If-None-Match: * on PUT creates only, and If-Match on a built-in compares with the built-in's tag", async () => {
    expect((await call('PUT', '/v1/templates/fresh', { 'if-none-match': '*' }, mine)).status).toBe(201);
    expect((await call('PUT', '/v1/templates/fresh', { 'if-none-match': '*' }, mine)).status).toBe(412);
    const builtin = (await call('GET', '/v1/templates/studio')).headers.get('etag')!;
    expect((await call('PUT', '/v1/templates/studio', { 'if-match': '"stale"' }, mine)).status).toBe(412);
    expect((await call('PUT', '/v1/templates/studio', { 'if-match': builtin }, mine)).status).toBe(201);
    expect((await call('DELETE', '/v1/templates/studio', { 'if-match': '*' })).status).toBe(204);
  });

  it('answers 304 to If-None-Match on JSON reads, with weak comparison, lists and *', async () => {
    const jpeg = await readFile(fixture('HappyFish.jpg'));
    const accepted = (await (await upload(service, key, jpeg, { type: 'image/jpeg' })).json()) as {
      asset: { id: string };
      run: { id: string };
    };
    const batch = await fetch(`${service.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ sku: 'mug-1', source: accepted.asset.id, recipe: { steps: [{ name: 'render' }] } })}\n`,
    });
    expect(batch.status).toBe(202);
    const batchId = ((await batch.json()) as { batch: { id: string } }).batch.id;

    for (const path of [
      `/v1/assets/${accepted.asset.id}`,
      `/v1/runs/${accepted.run.id}`,
      `/v1/batches/${batchId}`,
      '/v1/templates/studio',
    ]) {
      const full = await call('GET', path);
      expect(full.status, path).toBe(200);
      const etag = full.headers.get('etag')!;
      expect(etag, path).toMatch(/^(W\/)?"[^"]+"$/);
      const opaque = etag.replace(/^W\//, '');
      for (const condition of [etag, opaque, `W/${opaque}`, `"nope", ${etag}`, '*']) {
        const cached = await call('GET', path, { 'if-none-match': condition });
        expect(cached.status, `${path} If-None-Match: ${condition}`).toBe(304);
        expect(cached.headers.get('etag')).toBe(etag);
        expect(await cached.text()).toBe('');
      }
      const changed = await call('GET', path, { 'if-none-match': '"nope"' });
      expect(changed.status).toBe(200);
      expect(await changed.json()).toEqual(await full.json());
    }
  });

  it('declares ETag, 304 and 412 in the API document', async () => {
    type Responses = Record<string, { headers?: Record<string, unknown> }>;
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Responses }>>;
    };
    for (const path of ['/v1/assets/{id}', '/v1/runs/{id}', '/v1/batches/{id}', '/v1/templates/{id}']) {
      const responses = doc.paths[path]!.get!.responses;
      expect(Object.keys(responses['200']!.headers ?? {}), path).toContain('ETag');
      expect(responses['304'], path).toBeDefined();
    }
    expect(doc.paths['/v1/templates/{id}']!.put!.responses['412']).toBeDefined();
    expect(doc.paths['/v1/templates/{id}']!.delete!.responses['412']).toBeDefined();
  });
});
