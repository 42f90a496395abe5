import { PassThrough } from 'node:stream';
import type { Logger } from '../lib/logger.js';
import type { RunRecord } from '../workers/run-store.js';

/** A run as clients see it: the record without the tenant id (implied by the key). */
export type PublicRun = Omit<RunRecord, 'tenantId'>;

export interface RunEventStreamOptions {
  /** The run as read when the request was accepted: sent at once. */
  initial: PublicRun;
  /** Read the run again; `undefined` once it is gone. */
  read: () => Promise<PublicRun | undefined>;
  pollMs: number;
  heartbeatMs: number;
  logger: Logger;
}

export interface RunEventStream {
  /** The `text/event-stream` body. */
  body: PassThrough;
  /** Stop polling and end the body; safe to call more than once. */
  close(): void;
  /** Resolves once closed, whatever closed it (final event, client gone, shutdown). */
  closed: Promise<void>;
}

const isFinal = (run: PublicRun) => run.state === 'completed' || run.state === 'failed';

/** One server-sent event; JSON never contains a raw newline, so one `data:` line is enough. */
export const sseEvent = (event: string, data: unknown, id?: number) =>
  `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Server-sent events for one run, fed by reading the run store at a short interval: the run
 * record whenever it changes (`event: run`), then `event: end` once it completed or failed, and
 * the body ends. Polling keeps the API free of Redis subscriptions and works the same for runs
 * updated by workers on any machine. Idle streams get a comment line every heartbeat.
 */
export function openRunEventStream(options: RunEventStreamOptions): RunEventStream {
  const body = new PassThrough();
  let done = false;
  let sequence = 0;
  let last = JSON.stringify(options.initial);
  let pollTimer: NodeJS.Timeout | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  const close = () => {
    if (done) return;
    done = true;
    clearTimeout(pollTimer);
    clearInterval(heartbeat);
    if (!body.writableEnded) body.end();
    resolveClosed();
  };
  const write = (chunk: string) => {
    if (!done) body.write(chunk);
  };
  const emit = (run: PublicRun) => {
    write(sseEvent('run', run, ++sequence));
    if (isFinal(run)) {
      write(sseEvent('end', { state: run.state, ...(run.error ? { error: run.error } : {}) }, ++sequence));
      close();
    }
  };

  const poll = async () => {
    try {
      const run = await options.read();
      if (done) return;
      if (!run) {
        write(sseEvent('end', { state: 'gone', error: { code: 'NOT_FOUND', message: 'Run not found' } }, ++sequence));
        close();
        return;
      }
      const json = JSON.stringify(run);
      if (json !== last) {
        last = json;
        emit(run);
      }
    } catch (err) {
      // A Redis blip: keep the stream and try again at the next tick.
      options.logger.warn({ err }, 'run event stream: reading the run failed');
    }
    if (!done) pollTimer = setTimeout(() => void poll(), options.pollMs);
  };

  const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs);
  // Clients reconnecting after a drop wait this long (ms) before trying again.
  write('retry: 2000\n\n');
  emit(options.initial);
  if (!done) pollTimer = setTimeout(() => void poll(), options.pollMs);
  body.on('close', close);
  return { body, close, closed };
}
