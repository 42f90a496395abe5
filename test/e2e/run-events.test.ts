import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, startTestService, upload, type RunBody, type TestService } from '../harness.js';

interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Read a text/event-stream body: its events and comment lines, until it ends or `stopWhen` says so. */
async function readStream(res: Response, stopWhen: (seen: { events: SseMessage[]; comments: string[] }) => boolean = () => false) {
  const seen = { events: [] as SseMessage[], comments: [] as string[], ended: false };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      seen.ended = true;
      break;
    }
    buffer += value;
    let at: number;
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const message: SseMessage = { event: 'message', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) seen.comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) message.event = line.slice(7);
        else if (line.startsWith('data: ')) message.data += line.slice(6);
        else if (line.startsWith('id: ')) message.id = line.slice(4);
      }
      if (message.data) seen.events.push(message);
    }
    if (stopWhen(seen)) {
      await reader.cancel();
      break;
    }
  }
  return seen;
}

const openEvents = (service: TestService, key: string | undefined, runId: string, signal?: AbortSignal) =>
  fetch(`${service.url}/v1/runs/${runId}/events`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
    ...(signal ? { signal } : {}),
  });

async function openStreams(service: TestService): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(/^run_event_streams_open (\d+)$/m.exec(text)?.[1] ?? NaN);
}

/** Wait (bounded) until the server reports this many open streams. */
async function waitForOpenStreams(service: TestService, count: number): Promise<number> {
  let seen = NaN;
  for (let i = 0; i < 100; i++) {
    seen = await openStreams(service);
    if (seen === count) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

describe('GET /v1/runs/:id/events (server-sent events) on a real service', () => {
  let service: TestService;
  let key: string;
  let otherKey: string;
  const coffee = readFile(fixture('coffee.png'));

  beforeAll(async () => {
    service = await startTestService({ RUN_EVENTS_POLL_MS: '50' });
    ({ key } = await createTenant(service, 'Shop A'));
    ({ key: otherKey } = await createTenant(service, 'Shop B'));
  });
  afterAll(async () => service?.stop());

  it('streams the run on every change, then an end event, then closes', async () => {
    const res = await upload(service, key, await coffee, { filename: 'coffee.png', type: 'image/png' });
    expect(res.status).toBe(202);
    const { run } = (await res.json()) as { run: { id: string } };

    const events = await openEvents(service, key, run.id);
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(events.headers.get('cache-control')).toBe('no-cache, no-transform');
    const seen = await readStream(events);

    expect(seen.ended).toBe(true);
    const runs = seen.events.filter((e) => e.event === 'run').map((e) => JSON.parse(e.data) as RunBody & { tenantId?: string });
    const last = seen.events.at(-1)!;
    expect(last.event).toBe('end');
    expect(JSON.parse(last.data)).toEqual({ state: 'completed' });
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.at(-1)!.state).toBe('completed');
    expect(runs.at(-1)!.outputs?.manifestUrl).toMatch(/manifest\.json$/);
    // Every event is a change, progress never goes back, and the tenant id stays internal.
    for (let i = 1; i < runs.length; i++) {
      expect(JSON.stringify(runs[i])).not.toBe(JSON.stringify(runs[i - 1]));
      expect(runs[i]!.progress).toBeGreaterThanOrEqual(runs[i - 1]!.progress);
    }
    expect(runs.every((r) => r.id === run.id && r.tenantId === undefined)).toBe(true);
    // Ids increase, so a client can tell events apart.
    const ids = seen.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // The record matches what GET /v1/runs/:id answers now.
    const polled = await (await fetch(`${service.url}/v1/runs/${run.id}`, { headers: { authorization: `Bearer ${key}` } })).json();
    expect({ ...(polled as object), purge: undefined }).toEqual({ ...runs.at(-1)!, purge: undefined });
    expect(await waitForOpenStreams(service, 0)).toBe(0);
  });

  it('answers a finished run with its record and the end event at once', async () => {
    const res = await upload(service, key, await coffee, { filename: 'coffee.png', type: 'image/png' });
    const { run } = (await res.json()) as { run: { id: string } };
    await readStream(await openEvents(service, key, run.id));
    const again = await readStream(await openEvents(service, key, run.id));
    expect(again.ended).toBe(true);
    expect(again.events.map((e) => e.event)).toEqual(['run', 'end']);
    expect((JSON.parse(again.events[0]!.data) as RunBody).state).toBe('completed');
  });

  it("needs a tenant key and hides other tenants' runs", async () => {
    const res = await upload(service, key, await coffee, { filename: 'coffee.png', type: 'image/png' });
    const { run } = (await res.json()) as { run: { id: string } };
    const anonymous = await openEvents(service, undefined, run.id);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const other = await openEvents(service, otherKey, run.id);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await openEvents(service, key, 'no-such-run')).status).toBe(404);
    // No HEAD variant: it would open a stream nobody reads.
    const head = await fetch(`${service.url}/v1/runs/${run.id}/events`, { method: 'HEAD', headers: { authorization: `Bearer ${key}` } });
    expect(head.status).toBe(404);
  });
});

describe('run event streams that stay open', () => {
  let service: TestService;
  let key: string;
  let runId: string;

  beforeAll(async () => {
    // No render worker: runs stay queued, so their streams stay open.
    service = await startTestService({
      WORKER_QUEUES: 'publish',
      RUN_EVENTS_HEARTBEAT_SECONDS: '1',
      RUN_EVENTS_MAX_STREAMS: '2',
      RUN_EVENTS_POLL_MS: '50',
    });
    ({ key } = await createTenant(service));
    const res = await upload(service, key, await readFile(fixture('HappyFish.jpg')), { filename: 'fish.jpg' });
    runId = ((await res.json()) as { run: { id: string } }).run.id;
  });
  afterAll(async () => service?.stop());

  it('sends heartbeats while nothing changes and stops polling when the client goes away', async () => {
    const abort = new AbortController();
    const res = await openEvents(service, key, runId, abort.signal);
    const seen = await readStream(res, (s) => s.comments.includes('heartbeat'));
    expect(seen.events.map((e) => e.event)).toEqual(['run']);
    expect((JSON.parse(seen.events[0]!.data) as RunBody).state).toBe('queued');
    expect(await openStreams(service)).toBe(1);
    abort.abort();
    expect(await waitForOpenStreams(service, 0)).toBe(0);
  });

  it('refuses streams past RUN_EVENTS_MAX_STREAMS with 503 and Retry-After', async () => {
    const aborts = [new AbortController(), new AbortController()];
    const open = await Promise.all(aborts.map((a) => openEvents(service, key, runId, a.signal)));
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    expect(await waitForOpenStreams(service, 2)).toBe(2);
    const refused = await openEvents(service, key, runId);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
    aborts.forEach((a) => a.abort());
    expect(await waitForOpenStreams(service, 0)).toBe(0);
  });

  it('ends open streams on shutdown instead of holding the server open', async () => {
    const extra = await startTestService({ WORKER_QUEUES: 'publish', RUN_EVENTS_HEARTBEAT_SECONDS: '1' });
    try {
      const { key: k } = await createTenant(extra);
      const res = await upload(extra, k, await readFile(fixture('HappyFish.jpg')), { filename: 'fish.jpg' });
      const id = ((await res.json()) as { run: { id: string } }).run.id;
      const stream = await openEvents(extra, k, id);
      const reading = readStream(stream);
      await extra.stop();
      const seen = await reading;
      expect(seen.ended).toBe(true);
      expect(seen.events.map((e) => e.event)).toEqual(['run']);
    } finally {
      await extra.stop();
    }
  });
});
