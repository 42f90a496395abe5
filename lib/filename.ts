/**
 * A client's file name is a label we store and give back (the asset record, the API), never a path
 * we open. Kept as the merchant would read it, minus what can hurt a reader of it: control and
 * format characters (NUL, line breaks, bidi overrides that make `gpj.exe` read as `exe.jpg`,
 * zero-width joiners), private-use code points and lone surrogates, any folder part, and runs of
 * blanks. Bounded to `MAX_FILENAME_BYTES` of UTF-8, cut on a character boundary and keeping the
 * extension. Nothing left: no name.
 */
export const MAX_FILENAME_BYTES = 255;

/** Line breaks, tabs and the other blanks read as one space. */
const BLANKS = /[\t\n\v\f\r\u0085\u2028\u2029\p{Zs}]+/gu;
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu;
const EXTENSION = /\.[\p{L}\p{N}]{1,10}$/u;

export function safeFilename(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const base = raw.slice(Math.max(raw.lastIndexOf('/'), raw.lastIndexOf('\\')) + 1);
  const clean = base.normalize('NFC').replace(BLANKS, ' ').replace(UNSAFE, '').replace(/ {2,}/g, ' ').trim();
  if (clean === '' || clean === '.' || clean === '..') return undefined;
  if (Buffer.byteLength(clean) <= MAX_FILENAME_BYTES) return clean;
  const ext = EXTENSION.exec(clean)?.[0] ?? '';
  return `${cutToBytes(clean.slice(0, clean.length - ext.length), MAX_FILENAME_BYTES - Buffer.byteLength(ext)).trimEnd()}${ext}`;
}

/** The longest prefix of `text` within `bytes` of UTF-8, never splitting a character. */
function cutToBytes(text: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}
