/**
 * One CSV line split into its fields (RFC 4180 quoting: a field may be wrapped in `"`, a `""` inside
 * it is one quote). A catalog cell never holds a line break: every physical line is one record, so a
 * stray quote costs one line, reported at that line, never the lines after it (as in JSON Lines).
 * Fields are trimmed of spaces and tabs around them.
 */
export type CsvFields = { fields: string[] } | { error: string };

const COMMA = ',';
const QUOTE = '"';
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

export function splitCsvLine(text: string): CsvFields {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (isBlank(text[i])) i += 1;
    if (text[i] === QUOTE) {
      const start = i;
      let value = '';
      i += 1;
      for (;;) {
        const close = text.indexOf(QUOTE, i);
        if (close === -1)
          return { error: `A quote opened at column ${start + 1} is not closed on this line (a catalog cell cannot hold a line break).` };
        value += text.slice(i, close);
        if (text[close + 1] === QUOTE) {
          value += QUOTE;
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      while (isBlank(text[i])) i += 1;
      if (i < text.length && text[i] !== COMMA) return { error: `Unexpected text after the quoted field at column ${start + 1}.` };
      fields.push(value);
    } else {
      const end = text.indexOf(COMMA, i);
      const value = (end === -1 ? text.slice(i) : text.slice(i, end)).trim();
      if (value.includes(QUOTE))
        return { error: `A quote inside an unquoted field (field ${fields.length + 1}); wrap the field in quotes and double the quote.` };
      fields.push(value);
      i = end === -1 ? text.length : end;
    }
    if (i >= text.length) return { fields };
    i += 1; // the comma
  }
}
