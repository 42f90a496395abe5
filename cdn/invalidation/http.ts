import { purgeFailed, throwIfAborted, type InvalidatorName } from './invalidator.js';

/** A CDN's answer, body read whole (purge answers are small). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** Default time a CDN gets to answer one purge request before it counts as unavailable. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * One HTTP request to a CDN with `fetch`. A network fault or a timeout becomes a retryable
 * `CDN_PURGE_FAILED`; the caller's abort rejects with its reason. Any HTTP status resolves: the
 * driver decides what the status means for its API.
 */
export async function send(
  driver: InvalidatorName,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
): Promise<HttpAnswer> {
  const { signal } = options;
  throwIfAborted(signal);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    // Redirects are not followed: a purge API that redirects is misconfigured, and following one
    // would resend the token to wherever it points.
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) throw purgeFailed(driver, `no answer within ${timeoutMs} ms`, { retryable: true });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    throw purgeFailed(driver, `could not reach the CDN (${reason})`, { retryable: true, reason });
  }
}

/** `Retry-After` as milliseconds from now (delta-seconds or an HTTP date), if present and sane. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The error for an answer the driver did not accept: throttling (429), timeouts (408) and server
 * errors (5xx) are retryable; any other status is a refusal that only a configuration change
 * fixes.
 */
export function answerFailure(driver: InvalidatorName, what: string, answer: HttpAnswer, waitMs?: number) {
  const retryable = answer.status === 429 || answer.status === 408 || answer.status >= 500;
  return purgeFailed(driver, `${what} answered HTTP ${answer.status}`, {
    retryable,
    status: answer.status,
    retryAfterMs: retryable ? (waitMs ?? retryAfterMs(answer.headers)) : undefined,
    reason: answer.body.trim().slice(0, 300) || undefined,
  });
}
