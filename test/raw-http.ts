import { connect } from 'node:net';

/**
 * Send raw bytes over TCP and collect whatever comes back until the server closes the connection.
 * With `paceMs`, one chunk is written every `paceMs` (a slow client) until the server hangs up.
 */
export function rawExchange(url: string, chunks: Array<string | Buffer>, options: { paceMs?: number } = {}): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    if (!options.paceMs) {
      for (const c of chunks) socket.write(c);
      return;
    }
    const queue = [...chunks];
    const next = () => {
      const chunk = queue.shift();
      if (chunk === undefined || socket.destroyed) return;
      socket.write(chunk);
      timer = setTimeout(next, options.paceMs);
    };
    next();
  });
}

/** The head of a raw HTTP/1.1 request declaring a body of `length` bytes. */
export const requestHead = (url: string, method: string, path: string, headers: Record<string, string>, length: number) =>
  `${method} ${path} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n` +
  Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('') +
  `Content-Length: ${length}\r\n\r\n`;

/** The head of a multipart upload to POST /v1/assets and its file part's header. */
export const multipartHead = (boundary: string, key: string, url: string, length: number, extraHeaders: Record<string, string> = {}) =>
  requestHead(
    url,
    'POST',
    '/v1/assets',
    { Authorization: `Bearer ${key}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, ...extraHeaders },
    length,
  ) + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;

/** The status line's code and the JSON error body of a raw answer. */
export function parseRawAnswer(answer: string): {
  status: number;
  headers: string;
  body: { error?: { code: string; message: string } } | undefined;
} {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  const split = answer.indexOf('\r\n\r\n');
  const headers = split < 0 ? answer : answer.slice(0, split).toLowerCase();
  const rest = split < 0 ? '' : answer.slice(split + 4);
  // A chunked body: take the JSON between the first chunk size line and the terminator.
  const json = /\{[\s\S]*\}/.exec(rest)?.[0];
  let body: { error?: { code: string; message: string } } | undefined;
  try {
    body = json ? (JSON.parse(json) as typeof body) : undefined;
  } catch {
    body = undefined;
  }
  return { status, headers, body };
}
