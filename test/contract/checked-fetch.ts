import { ResponseValidator } from './response-validator.js';

/**
 * Every answer a test receives from a service started by the harness is checked against the
 * OpenAPI document that service serves: `fetch` is wrapped once per test process, and checks the
 * origins registered here. A mismatch fails the call that received it, naming route, status,
 * JSON pointer and error. Abuse tests that mean to send what no client should use `uncheckedFetch`
 * (or raw sockets, test/raw-http.ts).
 */
const RAW = Symbol.for('pipeline.test.rawFetch');
const holder = globalThis as typeof globalThis & { [RAW]?: typeof fetch };
holder[RAW] ??= globalThis.fetch;
/** The platform's fetch, unchecked: for requests that deliberately break the contract. */
export const uncheckedFetch: typeof fetch = holder[RAW];

const validators = new Map<string, Promise<ResponseValidator>>();

/** Check every answer from this service's origin from now on. */
export function checkAnswersFrom(serviceUrl: string): void {
  const origin = new URL(serviceUrl).origin;
  validators.set(
    origin,
    (async () => {
      const res = await uncheckedFetch(`${origin}/openapi.json`);
      if (!res.ok) throw new Error(`GET ${origin}/openapi.json answered ${res.status}`);
      return new ResponseValidator(await res.json());
    })(),
  );
  // A rejected document load is reported by the first checked call, not as an unhandled rejection.
  validators.get(origin)!.catch(() => undefined);
}

/** True while answers from this URL's origin are checked. */
export const isCheckingAnswersFrom = (serviceUrl: string): boolean => validators.has(new URL(serviceUrl).origin);

/** Stop checking a service's origin (it stopped; its port may be reused). */
export function stopCheckingAnswersFrom(serviceUrl: string): void {
  validators.delete(new URL(serviceUrl).origin);
}

export class ContractMismatch extends Error {
  override name = 'ContractMismatch';
}

/** Streams and images are checked by status, headers and media type; their bodies are not read. */
const readsBody = (type: string) => type === '' || type === 'application/json' || type.endsWith('+json');

async function checkedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const res = await uncheckedFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  const validator = validators.get(url.origin);
  if (!validator) return res;
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  if (method === 'HEAD') return res;
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const body = readsBody(type) ? await res.clone().text() : undefined;
  const problems = (await validator).check(method, url.pathname, res.status, res.headers, body);
  if (problems.length > 0) {
    throw new ContractMismatch(`The answer does not match the OpenAPI document (${method} ${url.pathname}):\n  ${problems.join('\n  ')}`);
  }
  return res;
}

globalThis.fetch = checkedFetch as typeof fetch;
