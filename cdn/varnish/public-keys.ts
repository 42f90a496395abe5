import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PUBLIC_KEY_PATTERNS } from '../keys.js';
import { ON_DEMAND_PATH_PATTERN } from '../on-demand-url.js';

/**
 * public-keys.vcl: the edge's copy of the keys the code marks public (PUBLIC_KEY_PATTERNS in
 * cdn/keys.ts, the one source of truth), as one VCL regex. Varnish cannot read TypeScript, so the
 * file is generated and committed; public-keys.test.ts fails when it no longer matches the code.
 * Regenerate with `npx tsx cdn/varnish/public-keys.ts`.
 */
export const PUBLIC_KEYS_VCL = fileURLToPath(new URL('./public-keys.vcl', import.meta.url));

/** One regex source for all patterns: each is `^...$`, and uses only what PCRE2 reads the same way. */
export function publicKeysRegex(patterns: readonly RegExp[] = PUBLIC_KEY_PATTERNS): string {
  const bodies = patterns.map((p) => {
    if (p.flags !== '' || !p.source.startsWith('^') || !p.source.endsWith('$')) {
      throw new Error(`public key pattern ${p.source} must be anchored at both ends and have no flags`);
    }
    // VCL strings have no escapes: a `"` would end the string.
    if (p.source.includes('"')) throw new Error(`public key pattern ${p.source} must not contain a double quote`);
    return p.source.slice(1, -1);
  });
  return `^(?:${bodies.join('|')})$`;
}

/** The text of public-keys.vcl. */
export function renderPublicKeysVcl(patterns: readonly RegExp[] = PUBLIC_KEY_PATTERNS): string {
  return [
    '# Generated from PUBLIC_KEY_PATTERNS in cdn/keys.ts by `npx tsx cdn/varnish/public-keys.ts`; do not edit.',
    '# The object keys an anonymous client may read through the edge; every other key is a synthetic 404.',
    '',
    'sub cdn_public_key {',
    `    if (req.http.x-object-key !~ "${publicKeysRegex(patterns)}") {`,
    '        return (synth(404, "Not Found"));',
    '    }',
    '}',
    '',
    '# The on-demand image paths (ON_DEMAND_PATH_PATTERN in cdn/on-demand-url.ts), query excluded.',
    'sub cdn_public_on_demand {',
    `    if (regsub(req.url, "[?].*$", "") !~ "${publicKeysRegex([ON_DEMAND_PATH_PATTERN])}") {`,
    '        return (synth(404, "Not Found"));',
    '    }',
    '}',
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(PUBLIC_KEYS_VCL, renderPublicKeysVcl());
  console.log(`wrote ${PUBLIC_KEYS_VCL}`);
}
