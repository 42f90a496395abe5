import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted (by UTF-16 code unit, as `Array.prototype.sort` does) at every
 * depth and no whitespace, so equal values always give equal strings. `undefined` object members
 * are dropped (as `JSON.stringify` does); values JSON cannot represent faithfully (functions,
 * symbols, bigints, non-finite numbers, Maps/Sets, cycles) throw instead of hashing as something
 * else. The one canonical form of the service: rendition set and step output ids (cdn/keys.ts),
 * template versions (templates/schema.ts) and catalog item ids hash it, so changing it changes them.
 */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  const encode = (v: unknown): string => {
    if (v === null) return 'null';
    if (typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      return encode((v as { toJSON: () => unknown }).toJSON());
    }
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return JSON.stringify(v);
      case 'number':
        if (!Number.isFinite(v)) throw new TypeError('canonicalJson: non-finite number');
        return JSON.stringify(v);
      case 'object': {
        if (seen.has(v)) throw new TypeError('canonicalJson: cyclic value');
        seen.add(v);
        let out: string;
        if (Array.isArray(v)) {
          out = `[${v.map((item) => (item === undefined ? 'null' : encode(item))).join(',')}]`;
        } else {
          const proto = Object.getPrototypeOf(v) as unknown;
          if (proto !== Object.prototype && proto !== null) throw new TypeError('canonicalJson: only plain objects');
          const members = Object.keys(v)
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${encode((v as Record<string, unknown>)[k])}`);
          out = `{${members.join(',')}}`;
        }
        seen.delete(v);
        return out;
      }
      default:
        throw new TypeError(`canonicalJson: cannot encode a ${typeof v}`);
    }
  };
  return encode(value);
}

/** Lowercase hex sha256 of a string (of its UTF-8 bytes). */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');
