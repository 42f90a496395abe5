import type { LookupFunction, Socket } from 'node:net';
import { sniffFormat } from './image-format.js';
import { AppError } from './errors.js';
import { checkUrlShape, guardedRequest, resolvePublicAddress, type GuardOptions } from './safe-fetch-connect.js';

/** Defaults when the caller names no limit (the service passes its configured ones). */
export const FETCH_DEFAULTS = { maxBytes: 50 * 1024 * 1024, timeoutMs: 30_000, maxRedirects: 5 } as const;

export interface FetchPublicUrlOptions {
  /** Largest body accepted; streamed and cut off past it (URL_TOO_LARGE, 413). */
  maxBytes?: number;
  /** Limit on the whole fetch, redirects included (URL_TIMEOUT, 504). */
  timeoutMs?: number;
  /** Redirects followed at most; each target is checked like the first URL. */
  maxRedirects?: number;
  /** DNS lookup; every address it returns is checked before one is connected to. */
  lookup?: LookupFunction;
  /** Test seam: opens the socket to an address that passed the checks. */
  connect?: (opts: { host: string; port: number; family: number }) => Socket;
  /** Tests only: allow loopback (127.0.0.0/8, ::1) for every host, or for the hosts a function accepts. */
  allowLoopbackForTests?: GuardOptions['allowLoopbackForTests'];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET a URL on the public internet, refusing any that resolves to a loopback, private,
 * link-local, CGNAT, metadata, unspecified, multicast or reserved address (IPv4 wrapped in IPv6
 * included), checked on the address actually connected to and again at every redirect. The
 * content type comes from the bytes (JPEG, PNG, WebP, AVIF, TIFF, GIF), never from the header:
 * `application/octet-stream` when they are none of those.
 */
export async function fetchPublicUrl(
  url: string,
  options: FetchPublicUrlOptions = {},
): Promise<{ bytes: Buffer; contentType: string; finalUrl: string }> {
  const maxBytes = options.maxBytes ?? FETCH_DEFAULTS.maxBytes;
  const timeoutMs = options.timeoutMs ?? FETCH_DEFAULTS.timeoutMs;
  const maxRedirects = options.maxRedirects ?? FETCH_DEFAULTS.maxRedirects;
  let current = parseUrl(url);
  checkUrlShape(current);
  const { signal, done } = deadline(timeoutMs, current);
  try {
    for (let hop = 0; ; hop++) {
      const context = hop === 0 ? '' : `Redirect ${hop} refused: `;
      const response = await guardedRequest(current, { ...options, signal, maxBytes, context, headers: { accept: 'image/*' } });
      const location = response.headers.location;
      if (REDIRECTS.has(response.status) && location) {
        if (hop >= maxRedirects) {
          // A loop or a chain this long is how the URL is set up, not a passing fault: 422, never retried.
          throw new AppError('URL_FETCH_FAILED', `More than ${maxRedirects} redirects from ${url}.`, { maxRedirects }, { status: 422 });
        }
        current = parseUrl(location, current);
        checkUrlShape(current, `Redirect ${hop + 1} refused: `);
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        // The far side refused (4xx): retrying will not help. A 5xx may pass.
        const status = response.status >= 400 && response.status < 500 ? 422 : 502;
        throw new AppError(
          'URL_FETCH_FAILED',
          `${current.host} answered ${response.status}.`,
          { upstreamStatus: response.status, host: current.hostname },
          { status },
        );
      }
      const format = sniffFormat(response.body.subarray(0, 64));
      return { bytes: response.body, contentType: format ? `image/${format}` : 'application/octet-stream', finalUrl: current.href };
    }
  } finally {
    done();
  }
}

export interface PostToPublicUrlOptions extends GuardOptions {
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  /** Response bytes kept (for a delivery log); the rest is dropped, never an error. */
  keepBytes?: number;
}

/**
 * POST to a public URL under the same address policy, without following redirects (a webhook
 * receiver answers, it does not send us elsewhere). Returns the status and the first response bytes.
 */
export async function postToPublicUrl(url: string, options: PostToPublicUrlOptions): Promise<{ status: number; body: Buffer }> {
  const target = parseUrl(url);
  const { signal, done } = deadline(options.timeoutMs, target);
  try {
    const response = await guardedRequest(target, {
      ...options,
      method: 'POST',
      signal,
      maxBytes: options.keepBytes ?? 1024,
      overLimit: 'truncate',
    });
    return { status: response.status, body: response.body };
  } finally {
    done();
  }
}

/**
 * Check a URL the way a fetch would (scheme, name, every resolved address), without sending
 * anything: used when a URL is stored for later, such as a webhook subscription.
 */
export async function checkPublicUrl(url: string, options: GuardOptions = {}): Promise<URL> {
  const parsed = parseUrl(url);
  await resolvePublicAddress(parsed, options);
  return parsed;
}

function parseUrl(text: string, base?: URL): URL {
  try {
    return new URL(text, base);
  } catch {
    throw new AppError('URL_FORBIDDEN', `Not a valid absolute URL: ${text.slice(0, 200)}`);
  }
}

/** One timer for the whole exchange, redirects included. */
function deadline(timeoutMs: number, url: URL): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AppError('URL_TIMEOUT', `Fetching from ${url.host} took longer than ${timeoutMs} ms.`, { timeoutMs })),
    timeoutMs,
  );
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}
