import { connect, createServer } from 'node:net';
import { listenLocal, ServiceRecorder, type LocalService } from './local-service.js';

/** Request heads (PURGE and BAN carry no body) complete in `buffer`, and the rest. */
function takeHeads(buffer: string): { heads: string[]; rest: string } {
  const heads: string[] = [];
  let rest = buffer;
  for (let end = rest.indexOf('\r\n\r\n'); end >= 0; end = rest.indexOf('\r\n\r\n')) {
    heads.push(rest.slice(0, end));
    rest = rest.slice(end + 4);
  }
  return { heads, rest };
}

/**
 * A recorder in front of a real Varnish: a TCP relay (node:http's parser rejects the BAN method,
 * so this reads request heads itself) that passes bytes through unchanged and notes what each
 * request asked to purge: `key:<k>` for xkey PURGEs and key BANs, `url:<path>` for URL BANs.
 * Failure modes stand in for a Varnish that is down (connections reset) or hung; Varnish has no
 * rate limiting, so there is no throttled mode.
 */
export async function startVarnishFront(varnishUrl: string): Promise<LocalService> {
  const upstream = new URL(varnishUrl);
  const rec = new ServiceRecorder();

  const record = (head: string) => {
    rec.seen.requests++;
    const [requestLine = '', ...lines] = head.split('\r\n');
    const [method = '', target = ''] = requestLine.split(' ');
    const header = (name: string) =>
      lines
        .find((l) => l.toLowerCase().startsWith(`${name}:`))
        ?.slice(name.length + 1)
        .trim();
    if (method !== 'PURGE' && method !== 'BAN') return void rec.seen.violations.push(`method ${method}; purges are PURGE or BAN`);
    if (header('content-length') && header('content-length') !== '0') rec.seen.violations.push(`${method} with a body`);
    const xkey = header('xkey');
    if (xkey !== undefined)
      rec.seen.targets.push(
        ...xkey
          .split(/[ ,]+/)
          .filter(Boolean)
          .map((k) => `key:${k}`),
      );
    else if (method === 'BAN') rec.seen.targets.push(`url:${target}`);
  };

  const server = createServer((client) => {
    rec.sockets.add(client);
    const varnish = connect(Number(upstream.port), upstream.hostname);
    rec.sockets.add(varnish);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      const { heads, rest } = takeHeads(pending + chunk.toString('latin1'));
      pending = rest;
      heads.forEach(record);
      if (rec.mode === 'unavailable') return void client.destroy();
      if (rec.mode === 'stall') return void rec.stalled.add(client);
      varnish.write(chunk);
    });
    varnish.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      varnish.destroy();
      rec.sockets.delete(client);
      rec.sockets.delete(varnish);
    };
    client.on('close', end).on('error', end);
    varnish.on('close', end).on('error', end);
  });
  // Varnish has no rate limiting: no throttled mode.
  return listenLocal(server, rec, undefined);
}
