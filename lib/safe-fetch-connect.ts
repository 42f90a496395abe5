import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { AppError } from './errors.js';
import {
  classifyAddress,
  classifyHostName,
  describeForbidden,
  isPlainLoopback,
  type AddressClass,
  type ForbiddenAddress,
} from './ip-policy.js';

/** Opens the TCP connection to an address already checked; tests replace it to keep every packet on loopback. */
export type ConnectFunction = (options: { host: string; port: number; family: number }) => Socket;

/** How a guarded request resolves and connects. */
export interface GuardOptions {
  /** DNS lookup (`dns.lookup` by default); every address it returns is checked. */
  lookup?: LookupFunction;
  /** Opens the socket to the checked address (`net.connect` by default). */
  connect?: ConnectFunction;
  /**
   * Tests only: allow 127.0.0.0/8 and ::1 (never other classes), for every host or for the host
   * names a function accepts, so a test can reach its own server.
   */
  allowLoopbackForTests?: boolean | ((host: string) => boolean);
}

export const forbidden = (url: URL, verdict: ForbiddenAddress, context = ''): AppError =>
  new AppError('URL_FORBIDDEN', `${context}${url.host} is ${describeForbidden(verdict)}; only public addresses may be fetched.`, {
    host: url.hostname,
    addressClass: verdict.addressClass,
    ...(verdict.via ? { via: verdict.via } : {}),
  });

const fetchFailed = (url: URL, reason: string, details: Record<string, unknown> = {}) =>
  new AppError('URL_FETCH_FAILED', `Could not fetch from ${url.host}: ${reason}.`, { host: url.hostname, ...details });

/** Refuse anything but http(s) URLs without credentials. */
export function checkUrlShape(url: URL, context = ''): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('URL_FORBIDDEN', `${context}only http and https URLs may be fetched, not ${url.protocol}`, {
      scheme: url.protocol.replace(/:$/, ''),
    });
  }
  if (url.username || url.password) {
    throw new AppError('URL_FORBIDDEN', `${context}URLs with credentials are not fetched.`, { host: url.hostname });
  }
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

function loopbackAllowed(options: GuardOptions, host: string): boolean {
  const allow = options.allowLoopbackForTests;
  return typeof allow === 'function' ? allow(host) : allow === true;
}

/** The verdict on one resolved address for this host, honouring the test allowance. */
function verdictFor(address: string, host: string, options: GuardOptions): ForbiddenAddress | undefined {
  const verdict = classifyAddress(address);
  if (verdict && verdict.addressClass === 'loopback' && isPlainLoopback(address) && loopbackAllowed(options, host)) return undefined;
  return verdict;
}

/**
 * Resolve a URL's host and check every address it resolves to (not just the first: a name that
 * mixes a public and a private address is refused). The caller connects to the returned address
 * itself, so a second, rebinding DNS answer is never asked for.
 */
export async function resolvePublicAddress(url: URL, options: GuardOptions, context = ''): Promise<{ address: string; family: 4 | 6 }> {
  checkUrlShape(url, context);
  const host = hostOf(url);
  const literal = isIP(host);
  if (literal) {
    const verdict = verdictFor(host, host, options);
    if (verdict) throw forbidden(url, verdict, context);
    return { address: host, family: literal as 4 | 6 };
  }
  const byName: AddressClass | undefined = classifyHostName(host);
  if (byName) throw forbidden(url, { addressClass: byName }, context);
  const addresses = await lookupAll(options.lookup ?? (dnsLookup as LookupFunction), host).catch((err: unknown) => {
    throw fetchFailed(url, 'its host name does not resolve', { cause: (err as NodeJS.ErrnoException).code ?? 'lookup failed' });
  });
  if (addresses.length === 0) throw fetchFailed(url, 'its host name does not resolve');
  for (const { address } of addresses) {
    const verdict = verdictFor(address, host, options);
    if (verdict) throw forbidden(url, verdict, context);
  }
  return addresses[0]!;
}

function lookupAll(lookup: LookupFunction, host: string): Promise<Array<{ address: string; family: 4 | 6 }>> {
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (err, result, family) => {
      if (err) return reject(err);
      const list = Array.isArray(result) ? result : [{ address: result, family: family ?? isIP(result) }];
      resolve(list.map((a) => ({ address: a.address, family: (a.family === 6 || isIP(a.address) === 6 ? 6 : 4) as 4 | 6 })));
    });
  });
}

/** One HTTP exchange's outcome; the body is capped by the caller's limit. */
export interface GuardedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** True when the body was cut at `maxBytes` (only with `overLimit: 'truncate'`). */
  truncated: boolean;
}

export interface GuardedRequestOptions extends GuardOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  signal: AbortSignal;
  maxBytes: number;
  /** `throw` (URL_TOO_LARGE, the connection cut) or `truncate` (keep the first bytes, e.g. for a log). */
  overLimit?: 'throw' | 'truncate';
  /** Prefix for error messages, e.g. "Redirect 1: ". */
  context?: string;
}

/**
 * One request, no redirects followed, over a connection opened only to an address that passed the
 * policy: resolved and checked here, connected by IP, checked again on the connected socket.
 */
export async function guardedRequest(url: URL, options: GuardedRequestOptions): Promise<GuardedResponse> {
  const context = options.context ?? '';
  const target = await resolvePublicAddress(url, options, context);
  const host = hostOf(url);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const connect = options.connect ?? ((o) => netConnect(o));
  options.signal.throwIfAborted();

  return new Promise<GuardedResponse>((resolve, reject) => {
    let raw: Socket;
    const createConnection = () => {
      // Checked again right before the connection: nothing but the vetted address is ever dialled.
      const again = verdictFor(target.address, host, options);
      if (again) throw forbidden(url, again, context);
      raw = connect({ host: target.address, port, family: target.family });
      raw.once('connect', () => {
        const peer = raw.remoteAddress;
        const verdict = peer ? verdictFor(peer, host, options) : undefined;
        if (verdict) raw.destroy(forbidden(url, verdict, context));
      });
      if (url.protocol !== 'https:') return raw;
      return tlsConnect({ socket: raw, host, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] });
    };
    let req: ReturnType<typeof httpRequest>;
    try {
      req = httpRequest({
        method: options.method ?? 'GET',
        host,
        port,
        path: `${url.pathname}${url.search}`,
        headers: { host: url.host, 'user-agent': 'product-image-pipeline', ...options.headers },
        createConnection,
        signal: options.signal,
      });
    } catch (err) {
      return reject(translate(err, url, options.signal));
    }
    req.on('error', (err) => reject(translate(err, url, options.signal)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let truncated = false;
      const declared = Number(res.headers['content-length']);
      if (options.overLimit !== 'truncate' && Number.isFinite(declared) && declared > options.maxBytes) {
        req.destroy();
        return reject(tooLarge(url, options.maxBytes));
      }
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        received += chunk.length;
        if (received > options.maxBytes) {
          if (options.overLimit !== 'truncate') {
            req.destroy();
            return reject(tooLarge(url, options.maxBytes));
          }
          chunks.push(chunk.subarray(0, chunk.length - (received - options.maxBytes)));
          truncated = true;
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated });
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated }));
      res.on('error', (err) => reject(translate(err, url, options.signal)));
    });
    req.end(options.body);
  });
}

const tooLarge = (url: URL, maxBytes: number) =>
  new AppError('URL_TOO_LARGE', `The response from ${url.host} exceeds the limit of ${maxBytes} bytes.`, { maxBytes });

function translate(err: unknown, url: URL, signal: AbortSignal): Error {
  if (err instanceof AppError) return err;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof AppError) return reason;
    return new AppError('URL_TIMEOUT', `Fetching from ${url.host} took too long.`, { host: url.hostname });
  }
  const code = (err as NodeJS.ErrnoException).code;
  return fetchFailed(url, code ? `connection failed (${code})` : 'connection failed', code ? { cause: code } : {});
}
