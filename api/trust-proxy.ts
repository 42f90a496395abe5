import { isIP } from 'node:net';
import { z } from 'zod';

/** What fastify's `trustProxy` takes from us: off, on, a hop count, or the proxies' addresses and ranges. */
export type TrustProxy = boolean | number | string[];

/** proxy-addr's names for whole ranges (fastify hands the list to it). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One list entry: an address, an address/prefix (CIDR), or a named range. */
function isProxyEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`: `false` (default) trusts no proxy, so X-Forwarded-For is ignored and a client
 * cannot pick its own rate-limit bucket; `true` trusts every hop (only behind a proxy that
 * overwrites the header); a number trusts that many hops; otherwise a comma-separated list of the
 * load balancers' addresses, CIDRs or `loopback` / `linklocal` / `uniquelocal`.
 */
export const trustProxySetting = z
  .string()
  .optional()
  .transform((raw, ctx): TrustProxy => {
    const value = (raw ?? '').trim();
    if (value === '' || value === 'false') return false;
    if (value === 'true') return true;
    if (/^\d+$/.test(value)) return Number(value);
    const entries = value.split(',').map((e) => e.trim());
    const bad = entries.filter((e) => !isProxyEntry(e));
    if (bad.length) {
      ctx.addIssue({
        code: 'custom',
        message: `expected true, false, a hop count, or addresses/CIDRs (or loopback, linklocal, uniquelocal); not ${bad.map((b) => `"${b}"`).join(', ')}`,
      });
      return z.NEVER;
    }
    return entries;
  });

/**
 * The setting as fastify's types take it: a hop count becomes the function proxy-addr would make
 * of it (trust the nearest `hops` proxies), since fastify's typings leave the number form out.
 */
export const fastifyTrustProxy = (setting: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) =>
  typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
