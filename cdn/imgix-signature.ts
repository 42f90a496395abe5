import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * imgix's URL signature (https://docs.imgix.com/setup/securing-images): `s` is the hex md5 of the
 * token, the path as sent (percent-encoded, leading `/`) and the query without `s` (`?a=1&b=2`,
 * or nothing when there is none). `@imgix/js-core` with `secureURLToken` appends `s` last.
 */
export function imgixSignature(token: string, path: string, queryWithoutS: string): string {
  return createHash('md5')
    .update(token + path + (queryWithoutS ? `?${queryWithoutS}` : ''))
    .digest('hex');
}

/** The raw query less its `s` parameter(s), order and encoding untouched, and the `s` given (if any). */
export function splitSignature(rawQuery: string): { query: string; signature: string | undefined } {
  let signature: string | undefined;
  const kept = rawQuery.split('&').filter((pair) => {
    if (pair === '') return false;
    if (!pair.startsWith('s=')) return true;
    signature = pair.slice(2);
    return false;
  });
  return { query: kept.join('&'), signature };
}

/** True when `rawUrl` (path and query as received) carries a valid signature for `token`. */
export function isSignedUrl(token: string, rawUrl: string): boolean {
  const at = rawUrl.indexOf('?');
  const path = at < 0 ? rawUrl : rawUrl.slice(0, at);
  const { query, signature } = splitSignature(at < 0 ? '' : rawUrl.slice(at + 1));
  if (!signature || !/^[0-9a-f]{32}$/i.test(signature)) return false;
  const expected = Buffer.from(imgixSignature(token, path, query), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature.toLowerCase(), 'hex'));
}
