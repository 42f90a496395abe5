import { PipelineError } from './errors.js';
import { serverSentEvents } from './events.js';
import type { Transport } from './transport.js';
import { FINAL_RUN_STATES, type Run } from './types.js';

export interface WaitOptions {
  /** Give up after this long (default 10 minutes): the promise rejects with code `TIMEOUT`. */
  timeoutMs?: number;
  /** Poll interval when polling (default 1 s). */
  pollIntervalMs?: number;
  /** false: poll `GET /v1/runs/:id` only, without the event stream. */
  events?: boolean;
  /** Called with the run each time it changes. */
  onProgress?: (run: Run) => void;
  signal?: AbortSignal;
}

const isFinal = (run: Run) => FINAL_RUN_STATES.includes(run.state);
const path = (runId: string) => `/v1/runs/${encodeURIComponent(runId)}`;

/**
 * Wait for a run to end (completed, failed or cancelled) and return its final record. Listens to
 * the run's event stream (`GET /v1/runs/:id/events`); if the stream is refused (503: the server
 * already serves its maximum of streams), cut, or not there, polls `GET /v1/runs/:id` instead.
 * A failed run resolves too: look at `run.state` and `run.error`.
 */
export async function waitForRun(transport: Transport, runId: string, options: WaitOptions = {}): Promise<Run> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])]);
  try {
    if (options.events !== false) {
      const ended = await viaEvents(transport, runId, options, signal);
      if (ended) return ended;
    }
    return await viaPolling(transport, runId, options, signal);
  } catch (err) {
    if (signal.aborted && !options.signal?.aborted)
      throw new PipelineError(0, 'TIMEOUT', `run ${runId} did not end within ${timeoutMs} ms`);
    throw err;
  }
}

/** The final run from the event stream, or undefined when the stream could not say (fall back to polling). */
async function viaEvents(transport: Transport, runId: string, options: WaitOptions, signal: AbortSignal): Promise<Run | undefined> {
  let res: Response;
  try {
    res = await transport.send(`${path(runId)}/events`, { headers: { accept: 'text/event-stream' }, signal, once: true });
  } catch (err) {
    // A missing run or a bad key fails the same when polled: say so now. Anything else: poll.
    if (err instanceof PipelineError && [401, 403, 404].includes(err.status)) throw err;
    if (signal.aborted) throw err;
    return undefined;
  }
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel();
    return undefined;
  }
  let last: Run | undefined;
  try {
    for await (const event of serverSentEvents(res.body)) {
      if (event.event === 'run') {
        last = JSON.parse(event.data) as Run;
        options.onProgress?.(last);
      } else if (event.event === 'end') {
        const end = JSON.parse(event.data) as { state: string; error?: { code: string; message: string } };
        if (end.state === 'gone') throw new PipelineError(404, 'NOT_FOUND', end.error?.message ?? 'Run not found');
        if (last && isFinal(last)) return last;
        return (await (await transport.send(path(runId), { signal })).json()) as Run;
      }
    }
  } catch (err) {
    if (err instanceof PipelineError || signal.aborted) throw err;
    // The connection dropped mid-stream (a restart, a proxy's timeout): polling carries on.
  }
  return undefined;
}

async function viaPolling(transport: Transport, runId: string, options: WaitOptions, signal: AbortSignal): Promise<Run> {
  let seen = '';
  for (;;) {
    const run = (await (await transport.send(path(runId), { signal })).json()) as Run;
    const json = JSON.stringify(run);
    if (json !== seen) {
      seen = json;
      options.onProgress?.(run);
    }
    if (isFinal(run)) return run;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, options.pollIntervalMs ?? 1000);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}
