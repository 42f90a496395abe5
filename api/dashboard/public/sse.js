// Server-sent events over fetch(): EventSource cannot send an Authorization header, and keys
// never go in URLs.

import { apiFetch, toApiError } from './api.js';

/**
 * An incremental text/event-stream parser (the WHATWG algorithm, without reconnection state).
 * feed() takes decoded text chunks; onEvent gets { event, data, id } per dispatched event and
 * onComment the text of comment lines (heartbeats).
 */
export function createSseParser({ onEvent, onComment = () => {}, onRetry = () => {} }) {
  let buffer = '';
  let data = [];
  let type = '';
  let id;
  const line = (text) => {
    if (text === '') {
      if (data.length) onEvent({ event: type || 'message', data: data.join('\n'), id });
      data = [];
      type = '';
      return;
    }
    if (text.startsWith(':')) return onComment(text.slice(1).trim());
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id') id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
  };
  return {
    feed(chunk) {
      buffer += chunk;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const text of lines) line(text);
    },
  };
}

const MAX_RECONNECTS = 5;

/**
 * Follow a run's events until `end`. onRun gets every run record; resolves with the end event's
 * data. Reconnects (a few times) when the stream drops before the end; rejects on an HTTP error.
 */
export async function watchRun(runId, { onRun, onHeartbeat = () => {}, signal }) {
  let retryMs = 2000;
  let failures = 0;
  for (;;) {
    let ended;
    try {
      const res = await apiFetch(`/v1/runs/${encodeURIComponent(runId)}/events`, { signal });
      if (!res.ok) throw await toApiError(res);
      const parser = createSseParser({
        onEvent: ({ event, data }) => {
          if (event === 'run') onRun(JSON.parse(data));
          else if (event === 'end') ended = JSON.parse(data);
        },
        onComment: onHeartbeat,
        onRetry: (ms) => (retryMs = ms),
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        failures = 0;
      }
    } catch (err) {
      if (signal?.aborted || err.status) throw err;
      if (++failures > MAX_RECONNECTS) throw err;
    }
    if (ended) return ended;
    if (signal?.aborted) throw signal.reason;
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
