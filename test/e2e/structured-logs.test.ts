import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTenant, fixture, startTestService, waitForRun, type TestService } from '../harness.js';

type Line = Record<string, unknown>;

/** Newline-delimited JSON from a stream of chunks that may split lines anywhere. */
function lineCollector() {
  const lines: Line[] = [];
  let rest = '';
  return {
    lines,
    push(chunk: unknown) {
      rest += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const text = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        try {
          lines.push(JSON.parse(text) as Line);
        } catch {
          // not a log line
        }
      }
    },
  };
}

/**
 * Structured logs from a real run: the API's lines carry the request id (and the tenant once the
 * key is known); every worker line about the run, in the worker host and in its sandboxed render
 * child, carries the run, tenant and step.
 */
describe('structured logs of an upload and its run', () => {
  let service: TestService;
  let key: string;
  let tenantId: string;
  const host = lineCollector();
  // Sandboxed children write to their stdout, which BullMQ pipes into this process's stdout.
  const children = lineCollector();
  let restoreStdout: (() => void) | undefined;

  beforeAll(async () => {
    // Everything written to stdout while this suite runs is kept (and kept out of the report).
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
      children.push(chunk);
      return true;
    }) as typeof process.stdout.write);
    restoreStdout = () => spy.mockRestore();
    const destination = new Writable({
      write(chunk, _enc, done) {
        host.push(chunk);
        done();
      },
    });
    service = await startTestService({ LOG_LEVEL: 'debug' }, { logDestination: destination });
    ({ key, tenantId } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
    restoreStdout?.();
  });

  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const ok = await fetch(`${service.url}/healthz`, { headers: { 'x-request-id': 'edge-7f3a:42' } });
    expect(ok.headers.get('x-request-id')).toBe('edge-7f3a:42');
    const unsafe = await fetch(`${service.url}/healthz`, { headers: { 'x-request-id': 'a b"<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const long = await fetch(`${service.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    expect(long.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const none = await fetch(`${service.url}/nowhere`);
    expect(none.status).toBe(404);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ties the request, the run and every step together in the log', async () => {
    const requestId = `upload-${Date.now()}`;
    const form = new FormData();
    form.append('file', new Blob([await readFile(fixture('HappyFish.jpg'))], { type: 'image/jpeg' }), 'fish.jpg');
    const res = await fetch(`${service.url}/v1/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'x-request-id': requestId },
      body: form,
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const {
      run: { id: runId },
      asset: { id: assetId },
    } = (await res.json()) as { run: { id: string }; asset: { id: string } };
    const run = await waitForRun(service, key, runId);
    expect(run.state).toBe('completed');
    // The completion lines are written as the job's events fire; give the pipes a moment to drain.
    await vi.waitFor(() => {
      expect(host.lines.some((l) => l.runId === runId && l.step === 'publish' && l.msg === 'step completed')).toBe(true);
      expect(children.lines.some((l) => l.runId === runId && l.process === 'render-child')).toBe(true);
    });

    // API: every request line has a request id; the upload's lines name the tenant once known,
    // and one of them hands over to the run.
    const apiLines = host.lines.filter((l) => 'req' in l || 'res' in l);
    expect(apiLines.length).toBeGreaterThan(0);
    for (const line of apiLines) expect(line.reqId, JSON.stringify(line)).toEqual(expect.any(String));
    const uploadLines = host.lines.filter((l) => l.reqId === requestId);
    expect(uploadLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'run enqueued', 'request completed']));
    expect(uploadLines.find((l) => l.msg === 'request completed')).toMatchObject({ tenantId });
    expect(uploadLines.find((l) => l.msg === 'run enqueued')).toMatchObject({ runId, assetId, tenantId });

    // Workers: every line that mentions the run, in the host or a sandboxed child, says which
    // run, tenant, asset, step, job and attempt it is about.
    const workerLines = [...host.lines, ...children.lines].filter((l) => !('reqId' in l) && JSON.stringify(l).includes(runId));
    expect(workerLines.length).toBeGreaterThanOrEqual(5);
    for (const line of workerLines) {
      expect(line, JSON.stringify(line)).toMatchObject({
        runId,
        tenantId,
        assetId,
        step: expect.any(String),
        jobId: expect.any(String),
        attempt: expect.any(Number),
      });
    }
    const seen = workerLines.map((l) => `${String(l.process ?? 'host')} ${String(l.step)} ${String(l.msg)}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'host render step started',
        'render-child render step running in sandboxed child',
        'host render step completed',
        'host publish step started',
        'host publish step completed',
      ]),
    );
  });
});
