import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uncheckedFetch } from '../harness.js';
import { checkAnswersFrom, stopCheckingAnswersFrom } from './checked-fetch.js';

/** A document that says little, served with answers that break it in each way the checker must catch. */
const DOC = {
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        required: ['id'],
        properties: { id: { type: 'string' }, size: { type: 'integer' } },
        additionalProperties: false,
      },
    },
  },
  paths: {
    '/things/{id}': {
      get: {
        responses: {
          200: {
            description: 'ok',
            headers: { 'X-Request-Id': { required: true, schema: { type: 'string' } } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
          204: { description: 'none' },
        },
      },
    },
    '/things/special': { get: { responses: { 200: { description: 'ok', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  },
};

const ANSWERS: Record<string, [number, Record<string, string>, string]> = {
  '/things/good': [200, { 'content-type': 'application/json', 'x-request-id': 'r' }, '{"id":"a","size":1}'],
  '/things/bad-body': [200, { 'content-type': 'application/json', 'x-request-id': 'r' }, '{"id":"a","size":"big"}'],
  '/things/no-header': [200, { 'content-type': 'application/json' }, '{"id":"a"}'],
  '/things/teapot': [418, { 'content-type': 'application/json' }, '{}'],
  '/things/html': [200, { 'content-type': 'text/html', 'x-request-id': 'r' }, '<p>'],
  '/things/empty-with-body': [204, { 'content-type': 'application/json' }, ''],
  '/things/special': [200, { 'content-type': 'text/plain' }, 'static route, not {id}'],
};

describe('checked fetch', () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/openapi.json') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(DOC));
      const [status, headers, body] = ANSWERS[req.url!] ?? [404, {}, ''];
      res.writeHead(status, headers).end(status === 204 ? undefined : body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    checkAnswersFrom(base);
  });
  afterAll(async () => {
    stopCheckingAnswersFrom(base);
    await new Promise((resolve) => server.close(resolve));
  });

  it('wraps the global fetch, leaving uncheckedFetch for deliberate abuse', async () => {
    expect(globalThis.fetch).not.toBe(uncheckedFetch);
    expect((await uncheckedFetch(`${base}/things/teapot`)).status).toBe(418);
  });

  it('lets an answer that matches through, body unread', async () => {
    const res = await fetch(`${base}/things/good`);
    expect(await res.json()).toEqual({ id: 'a', size: 1 });
    expect(await (await fetch(`${base}/things/special`)).text()).toBe('static route, not {id}');
  });

  it.each([
    ['/things/bad-body', /GET \/things\/\{id\} → 200 \(application\/json\): body\/size must be integer/],
    ['/things/no-header', /required header X-Request-Id is missing/],
    ['/things/teapot', /status 418 is not declared \(declared: 200, 204\)/],
    ['/things/html', /media type "text\/html" is not declared/],
  ])('fails %s with a readable message', async (path, message) => {
    await expect(fetch(`${base}${path}`)).rejects.toThrow(message);
  });
});
