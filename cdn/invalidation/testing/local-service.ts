import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { FailureMode, ServiceProbe, ServiceSeen } from './probe.js';

/** A request as the local service received it, body read whole. */
export interface ReceivedRequest {
  method: string;
  /** The raw request target: path and query, undecoded. */
  target: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the service answers; `reset` drops the connection instead (a crashed or restarting service). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'reset';

/** Given to a handler: record what the request asked to purge, or a breach of the documented API. */
export interface HandlerContext {
  target(...targets: string[]): void;
  /** Record a breach of the documented API; the handler should then answer as the service would (4xx). */
  violation(message: string): void;
}

/** How one kind of service behaves; see the fastly/cloudfront/imgix/varnish stand-ins next to this file. */
export interface ServiceBehaviour {
  handle(req: ReceivedRequest, ctx: HandlerContext): Answer | Promise<Answer>;
  /** The service's answer while unavailable (overloaded or down). */
  unavailable(): Answer;
  /** The service's rate-limit answer, when it has one, and the wait it asks for (if it says). */
  throttled?: { answer(): Answer; waitMs: number | undefined };
}

/** A running local service: a {@link ServiceProbe} with an address. */
export interface LocalService extends ServiceProbe {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Start a node:http server on 127.0.0.1 (port 0) that runs `behaviour` for every request and
 * records requests, purge targets and API violations for the conformance suite. `breakWith`
 * switches it to failing the way the real service fails.
 */
export async function startLocalService(behaviour: ServiceBehaviour): Promise<LocalService> {
  const rec = new ServiceRecorder();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      rec.seen.requests++;
      const received: ReceivedRequest = {
        method: req.method ?? '',
        target: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      const ctx: HandlerContext = {
        target: (...t) => rec.seen.targets.push(...t),
        violation: (m) => rec.seen.violations.push(`${received.method} ${received.target}: ${m}`),
      };
      const current = rec.mode;
      if (current === 'stall') return void rec.stalled.add(req.socket); // Accept, never answer.
      const answering =
        current === 'unavailable'
          ? Promise.resolve(behaviour.unavailable())
          : current === 'throttled' && behaviour.throttled
            ? Promise.resolve(behaviour.throttled.answer())
            : Promise.resolve().then(() => behaviour.handle(received, ctx));
      answering.then(
        (answer) => {
          if (answer === 'reset') return void req.socket.destroy();
          res.writeHead(answer.status, answer.headers ?? {});
          res.end(answer.body ?? '');
        },
        (err: Error) => {
          rec.seen.violations.push(`handler failed: ${err.message}`);
          res.writeHead(500).end();
        },
      );
    });
  });
  server.on('connection', (socket) => {
    rec.sockets.add(socket);
    socket.on('close', () => rec.sockets.delete(socket));
  });
  return listenLocal(server, rec, behaviour.throttled ? { waitMs: behaviour.throttled.waitMs } : undefined);
}

/** What a stand-in service records, and how it is told to fail; shared by every stand-in. */
export class ServiceRecorder {
  seen: ServiceSeen = { requests: 0, targets: [], violations: [] };
  mode: FailureMode | undefined;
  /** Open connections, destroyed on close. */
  readonly sockets = new Set<Socket>();
  /** Connections held without an answer while the mode is `stall`. */
  readonly stalled = new Set<Socket>();
}

/** Listen on 127.0.0.1 (port 0) and expose a stand-in as a {@link LocalService} over its recorder. */
export async function listenLocal(server: NetServer, rec: ServiceRecorder, throttle: ServiceProbe['throttle']): Promise<LocalService> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    reset() {
      rec.seen = { requests: 0, targets: [], violations: [] };
    },
    seen: () => ({ requests: rec.seen.requests, targets: [...rec.seen.targets], violations: [...rec.seen.violations] }),
    breakWith(m) {
      rec.mode = m;
    },
    heal() {
      rec.mode = undefined;
      for (const s of rec.stalled) s.destroy();
      rec.stalled.clear();
    },
    throttle,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of rec.sockets) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}

/** A JSON answer. */
export const json = (status: number, value: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(value),
});
