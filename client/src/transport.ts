import { randomUUID } from 'node:crypto';
import { errorFromResponse, PipelineError } from './errors.js';

/** How the client retries answers that say "later" (429, 503, 409 with Retry-After). */
export interface RetryOptions {
  /** Tries in all, the first included (default 4). 1 turns retrying off. */
  attempts?: number;
  /** Wait before the first retry when the server names none; doubles each time (default 500 ms). */
  baseDelayMs?: number;
  /** No single wait is longer, whatever Retry-After says (default 30 s). */
  maxDelayMs?: number;
}

export interface TransportOptions {
  /** The API's base URL, e.g. `https://images.example.com` (no trailing `/v1`). */
  baseUrl: string;
  /** A tenant's API key, sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  retry?: RetryOptions;
  /** Defaults to the global fetch; tests and proxies may pass their own. */
  fetch?: typeof fetch;
  /** Waits between retries; replaced in tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** One request. `body` is a factory so each try sends a fresh body. */
export interface SendInit {
  method?: string;
  headers?: Record<string, string>;
  body?: () => NonNullable<RequestInit['body']> | Promise<NonNullable<RequestInit['body']>>;
  /** Send once, never retry: a body read from a one-shot stream, or a caller with its own fallback. */
  once?: boolean;
  signal?: AbortSignal;
}

/**
 * The one way the client talks HTTP: the key on every request, an `Idempotency-Key` on every POST
 * (one per call, the same on each retry, so a retried upload never runs twice), and bounded
 * retries with jitter on 429 and 503, honouring `Retry-After`. Errors throw `PipelineError`.
 */
export interface Transport {
  readonly baseUrl: string;
  /** Sends, retrying as above; resolves with a 2xx response, throws `PipelineError` otherwise. */
  send(path: string, init?: SendInit): Promise<Response>;
  /** The same policy for a prepared `Request` (what openapi-fetch hands its `fetch`); non-2xx answers are returned. */
  fetchRequest(request: Request): Promise<Response>;
}

const RETRY_STATUSES = new Set([429, 503]);

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The server asked to come back later: 429, 503, or 409 for a request with this key still in flight. */
const wantsRetry = (res: Response) => RETRY_STATUSES.has(res.status) || (res.status === 409 && res.headers.has('retry-after'));

export function createTransport(options: TransportOptions): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const attempts = Math.max(1, options.retry?.attempts ?? 4);
  const baseDelayMs = options.retry?.baseDelayMs ?? 500;
  const maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  /**
   * Retry-After when given (plus up to 10 % jitter, so clients told the same second do not return
   * together); otherwise full jitter over an exponential backoff.
   */
  const delayFor = (res: Response, attempt: number) => {
    const asked = retryAfterMs(res.headers.get('retry-after'));
    const ms = asked !== undefined ? asked * (1 + Math.random() * 0.1) : Math.random() * baseDelayMs * 2 ** (attempt - 1);
    return Math.min(maxDelayMs, Math.round(ms));
  };

  const withDefaults = (method: string, headers: Headers) => {
    headers.set('authorization', `Bearer ${options.apiKey}`);
    if (method === 'POST' && !headers.has('idempotency-key')) headers.set('idempotency-key', randomUUID());
    return headers;
  };

  /** No answer at all (refused, reset, DNS): a PipelineError with status 0, unless the caller aborted. */
  const reached = (attempt: Promise<Response>) =>
    attempt.catch((err: unknown) => {
      if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) throw err;
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new PipelineError(0, 'NETWORK_ERROR', `Could not reach ${baseUrl}: ${cause}`);
    });

  async function withRetries(tryOnce: () => Promise<Response>, once: boolean): Promise<Response> {
    const tries = once ? 1 : attempts;
    for (let attempt = 1; ; attempt++) {
      const res = await reached(tryOnce());
      if (attempt >= tries || !wantsRetry(res)) return res;
      await res.body?.cancel();
      await sleep(delayFor(res, attempt));
    }
  }

  return {
    baseUrl,
    async send(path, init = {}) {
      const method = (init.method ?? 'GET').toUpperCase();
      const headers = withDefaults(method, new Headers(init.headers));
      const res = await withRetries(async () => {
        const body = await init.body?.();
        return doFetch(`${baseUrl}${path}`, {
          method,
          headers,
          ...(body !== undefined ? { body, duplex: 'half' } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
        } as RequestInit);
      }, init.once ?? false);
      if (!res.ok) throw await errorFromResponse(res);
      return res;
    },
    async fetchRequest(request) {
      withDefaults(request.method.toUpperCase(), request.headers);
      // Clone before each try: a body can be read once. openapi-fetch's bodies are JSON strings.
      return withRetries(() => doFetch(request.clone()), false);
    },
  };
}
