import { describe, expect, it } from 'vitest';
import { jsonLines } from './catalog.js';
import { serverSentEvents } from './events.js';

/** A body arriving in the given chunks, split anywhere (mid-line, mid-character). */
const body = (...chunks: string[]) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    }),
  ).body!;

describe('stream readers', () => {
  it('frames server-sent events across chunk boundaries and skips heartbeats', async () => {
    const events = [];
    for await (const e of serverSentEvents(
      body('id: 1\nevent: run\nda', 'ta: {"state":"running"}\n\n: heartbeat\n\n', 'event: end\r\ndata: {"a":\r\ndata: 1}\r\n\r\n'),
    ))
      events.push(e);
    expect(events).toEqual([
      { event: 'run', data: '{"state":"running"}', id: '1' },
      { event: 'end', data: '{"a":\n1}' },
    ]);
  });

  it('parses JSON Lines split mid-line and mid-character, with or without a last newline', async () => {
    const lines = [];
    for await (const l of jsonLines(body('{"sku":"caf', 'é"}\n\n{"sku":"b"}'))) lines.push(l);
    expect(lines).toEqual([{ sku: 'café' }, { sku: 'b' }]);
  });
});
