import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * How the proxy treats what arrives from now on:
 * - `pass`: forward every request;
 * - `refuse`: reset each new connection at once (a bucket whose front end is down);
 * - `reset`: forward a request's head and up to `afterBytes` of its body, then reset both sides
 *   (a connection lost mid-upload: the server sees a truncated body); only requests whose method
 *   is in `methods`, when given, the others pass;
 * - `stall`: accept requests and never answer (a hung server; only client timeouts end them); only
 *   requests whose method is in `methods`, when given, the others pass;
 * - `status`: answer the next `count` requests with a canned HTTP `status` (e.g. 500) without
 *   forwarding them, then go back to `pass`.
 */
export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'refuse' }
  | { kind: 'reset'; afterBytes: number; methods?: string[] }
  | { kind: 'stall'; methods?: string[] }
  | { kind: 'status'; status: number; count: number };

/** What the proxy saw and did, for assertions and for RELIABILITY.md. */
export interface FaultStats {
  connections: number;
  /** Every request head seen, `METHOD /path`, in arrival order (whatever was done with it). */
  requests: string[];
  forwarded: number;
  refused: number;
  reset: number;
  /** Resets that cut a request body part-way: the server saw a truncated upload. */
  truncatedBodies: number;
  stalled: number;
  /** Requests answered with the canned status. */
  answered: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  setMode(mode: FaultMode): void;
  readonly mode: FaultMode;
  stats(): FaultStats;
  close(): Promise<void>;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * A TCP proxy in this process, in front of an HTTP/1.1 server, that fails on command. It frames
 * requests (head, then a `Content-Length` body) so each request is judged on its own even on
 * keep-alive connections; responses are piped back untouched. Chunked request bodies are not
 * framed (the S3 client sends lengths), so such connections are passed through as they are.
 */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: FaultMode = { kind: 'pass' };
  const stats: FaultStats = {
    connections: 0,
    requests: [],
    forwarded: 0,
    refused: 0,
    reset: 0,
    truncatedBodies: 0,
    stalled: 0,
    answered: 0,
  };
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    stats.connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (mode.kind === 'refuse') {
      stats.refused++;
      client.resetAndDestroy();
      return;
    }
    handleConnection(client);
  });

  function handleConnection(client: Socket): void {
    let upstream: Socket | undefined;
    let buffered = Buffer.alloc(0);
    /** Body bytes of the current request still to come, and what to do with them. */
    let bodyLeft = 0;
    let bodyAction: 'forward' | 'swallow' = 'forward';
    let resetAfter = Infinity;
    let passthrough = false;
    let afterBody: (() => void) | undefined;

    const openUpstream = (): Socket => {
      if (upstream && !upstream.destroyed) return upstream;
      const up = createConnection(target);
      sockets.add(up);
      up.on('close', () => {
        sockets.delete(up);
        if (!client.destroyed) client.end();
      });
      up.on('error', () => client.destroy());
      up.pipe(client);
      upstream = up;
      return up;
    };
    const resetBoth = () => {
      stats.reset++;
      upstream?.resetAndDestroy();
      client.resetAndDestroy();
    };

    const onBody = (chunk: Buffer): Buffer => {
      const take = Math.min(bodyLeft, chunk.length);
      const part = chunk.subarray(0, take);
      bodyLeft -= take;
      if (bodyAction === 'forward') {
        if (part.length >= resetAfter) {
          openUpstream().write(part.subarray(0, resetAfter));
          stats.truncatedBodies++;
          resetBoth();
          return Buffer.alloc(0);
        }
        resetAfter -= part.length;
        if (part.length) openUpstream().write(part);
      }
      if (bodyLeft === 0 && afterBody) {
        const done = afterBody;
        afterBody = undefined;
        done();
      }
      return chunk.subarray(take);
    };

    const onHead = (head: Buffer): void => {
      const text = head.toString('latin1');
      const [requestLine = ''] = text.split('\r\n', 1);
      const [method = '?', path = '?'] = requestLine.split(' ');
      stats.requests.push(`${method} ${path}`);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      bodyLeft = length ? Number(length[1]) : 0;
      if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) passthrough = true;
      resetAfter = Infinity;
      const current = mode;
      if (current.kind === 'stall' && (!current.methods || current.methods.includes(method))) {
        stats.stalled++;
        bodyAction = 'swallow';
        passthrough = false;
        return;
      }
      if (current.kind === 'status') {
        stats.answered++;
        if (--current.count <= 0) mode = { kind: 'pass' };
        bodyAction = 'swallow';
        const answer = () =>
          client.end(
            `HTTP/1.1 ${current.status} Injected Fault\r\ncontent-type: application/xml\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
          );
        if (bodyLeft === 0) answer();
        else afterBody = answer;
        return;
      }
      stats.forwarded++;
      bodyAction = 'forward';
      const resetting = current.kind === 'reset' && (!current.methods || current.methods.includes(method));
      if (resetting) resetAfter = current.afterBytes;
      openUpstream().write(head);
      if (bodyLeft === 0 && resetting) resetBoth();
    };

    client.on('data', (chunk: Buffer) => {
      let rest = chunk;
      while (rest.length > 0 && !client.destroyed) {
        if (passthrough) {
          openUpstream().write(rest);
          return;
        }
        if (bodyLeft > 0) {
          rest = onBody(rest);
          continue;
        }
        buffered = Buffer.concat([buffered, rest]);
        const end = buffered.indexOf(HEAD_END);
        if (end < 0) return;
        const head = buffered.subarray(0, end + HEAD_END.length);
        rest = buffered.subarray(end + HEAD_END.length);
        buffered = Buffer.alloc(0);
        onHead(head);
      }
    });
    client.on('end', () => upstream?.end());
    client.on('close', () => upstream?.destroy());
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    setMode(next) {
      // Leaving `stall`: the held connections are dropped, as a recovering server would.
      if (mode.kind === 'stall' && next.kind !== 'stall') for (const s of sockets) s.destroy();
      // Entering `refuse`: the server went away, so the kept-alive connections die with it.
      if (next.kind === 'refuse') for (const s of sockets) s.resetAndDestroy();
      mode = next.kind === 'status' ? { ...next } : next;
    },
    stats: () => ({ ...stats, requests: [...stats.requests] }),
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
