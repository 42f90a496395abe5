import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { openRunEventStream, type PublicRun } from './run-events.js';

const run = (patch: Partial<PublicRun> = {}): PublicRun => ({
  id: 'run_1',
  assetId: 'ast_1',
  recipe: { steps: [{ name: 'render' }] },
  state: 'queued',
  progress: 0,
  steps: [{ name: 'render', state: 'queued', progress: 0, attempts: 0 }],
  createdAt: '2026-01-01T00:00:00.000Z',
  ...patch,
});

function collect(body: NodeJS.ReadableStream): () => string {
  let text = '';
  body.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return () => text;
}

describe('openRunEventStream (the polling loop, with a fake run store and clock)', () => {
  const logger = createLogger('silent');
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends only changes, ends after the final record, and leaves no timer behind', async () => {
    const states = [run(), run(), run({ state: 'running', progress: 50 }), run({ state: 'completed', progress: 100 })];
    const read = vi.fn(async () => states.shift());
    const stream = openRunEventStream({ initial: run(), read, pollMs: 100, heartbeatMs: 60_000, logger });
    const text = collect(stream.body);
    for (let i = 0; i < 4; i++) await vi.advanceTimersByTimeAsync(100);
    await stream.closed;
    const events = [...text().matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => [m[1], JSON.parse(m[2]!).state]);
    expect(events).toEqual([
      ['run', 'queued'],
      ['run', 'running'],
      ['run', 'completed'],
      ['end', 'completed'],
    ]);
    expect(text()).toMatch(/^retry: 2000\n\n/);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(read).toHaveBeenCalledTimes(4);
  });

  it('survives a failed read, heartbeats while idle, and stops everything on close', async () => {
    const read = vi.fn().mockRejectedValueOnce(new Error('redis blip')).mockResolvedValue(run());
    const stream = openRunEventStream({ initial: run(), read, pollMs: 100, heartbeatMs: 250, logger });
    const text = collect(stream.body);
    await vi.advanceTimersByTimeAsync(300);
    expect(read).toHaveBeenCalledTimes(3);
    expect(text().match(/: heartbeat\n\n/g)).toHaveLength(1);
    stream.close();
    stream.close();
    await stream.closed;
    expect(stream.body.writableEnded).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends with a not-found event when the run disappears', async () => {
    const stream = openRunEventStream({ initial: run(), read: async () => undefined, pollMs: 100, heartbeatMs: 60_000, logger });
    const text = collect(stream.body);
    await vi.advanceTimersByTimeAsync(100);
    await stream.closed;
    expect(text()).toContain('event: end\ndata: {"state":"gone","error":{"code":"NOT_FOUND","message":"Run not found"}}');
  });
});
