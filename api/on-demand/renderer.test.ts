import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../../cdn/fs-storage.js';
import { imgixDefaultWidths, parseImgixParams } from '../../cdn/imgix-params.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { AppError } from '../../lib/errors.js';
import { OnDemandRenderer } from './renderer.js';
import type { ResolvedSource } from './resolve-source.js';

const SET = 'c'.repeat(64);
const source: ResolvedSource = { key: `t/tn_1/r/${SET}/master.png`, version: SET, owner: { setId: SET } };
const limits = { maxInputPixels: 100_000_000, maxOutputPixels: 16_000_000, timeoutSeconds: 30 };
const params = (query: string) =>
  parseImgixParams(new URLSearchParams(query), { widths: imgixDefaultWidths(), maxOutputPixels: 16_000_000 });

/** The renderer over a real disk bucket holding coffee.png as a set's master. */
describe('OnDemandRenderer', () => {
  let root: string;
  let storage: ObjectStorage;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'on-demand-'));
    storage = fsStorage({ root });
    const png = await readFile(new URL('../../test/fixtures/coffee.png', import.meta.url));
    await storage.put(source.key, png, { contentType: 'image/png' });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('stores each transform once, content-addressed by source version, parameters and negotiated format', async () => {
    const renderer = new OnDemandRenderer(storage, limits, { concurrency: 2, memoryBytes: 1 << 30, maxWaiting: 8 });
    const render = (query: string, accept: string) => {
      const { key } = renderer.locate(source, 'tn_1', params(query), accept);
      return renderer.render(key, source, params(query), accept, ['tenant:tn_1']);
    };
    const first = await render('w=135&auto=format', 'image/webp');
    // A WebP computed while the pool is idle is answered provisionally; the final bytes are stored.
    expect([first.cache, first.contentType, first.provisional]).toEqual(['miss', 'image/webp', true]);
    await renderer.flush();
    const hit = await render('w=135&auto=format', 'image/webp,*/*');
    expect([hit.cache, hit.provisional]).toEqual(['hit', false]);
    // Another negotiated format is another object.
    const jpeg = await render('w=135&auto=format', 'image/png');
    expect([jpeg.cache, jpeg.contentType]).toEqual(['miss', 'image/jpeg']);
    await renderer.flush();
    const stored = [];
    for await (const key of storage.list(`t/tn_1/r/${SET}/od/`)) stored.push(key);
    expect(stored).toHaveLength(2);
    const meta = await storage.head(stored[0]!);
    expect(meta?.cacheControl).toBe('private, no-store');
  });

  it('answers WebP provisionally only while a pool slot is free: a busy pool encodes once, finally', async () => {
    const renderer = new OnDemandRenderer(storage, limits, { concurrency: 1, memoryBytes: 1 << 30, maxWaiting: 8 });
    const render = (query: string) => {
      const p = params(query);
      return renderer.render(renderer.locate(source, 'tn_2', p, undefined).key, source, p, undefined, []);
    };
    const first = render('w=1052&fm=webp');
    while (renderer.load().running === 0) await new Promise((r) => setTimeout(r, 1));
    const second = await render('w=400&fm=webp');
    expect([(await first).provisional, second.provisional]).toEqual([true, false]);
    await renderer.flush();

    // ON_DEMAND_PROVISIONAL=false: never.
    const finalOnly = new OnDemandRenderer(storage, limits, { concurrency: 1, memoryBytes: 1 << 30, maxWaiting: 8 }, undefined, false);
    const p = params('w=640&fm=webp');
    expect((await finalOnly.render(finalOnly.locate(source, 'tn_3', p, undefined).key, source, p, undefined, [])).provisional).toBe(false);
  });

  it('refuses with 503 when ON_DEMAND_MAX_WAITING transforms already wait, and 422 past ON_DEMAND_MEMORY_MB', async () => {
    const busy = new OnDemandRenderer(storage, limits, { concurrency: 1, memoryBytes: 1 << 30, maxWaiting: 1 });
    // Three different ladder steps (907, 1052, 1220 px): three transforms, none coalesced.
    const outcomes = await Promise.allSettled(
      ['w=800&fm=avif', 'w=1000&fm=avif', 'w=1200&fm=avif'].map((q) =>
        busy.render(busy.locate(source, 'tn_1', params(q), undefined).key, source, params(q), undefined, []),
      ),
    );
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as AppError);
    expect(refused.map((e) => [e.status, e.code])).toEqual([[503, 'SERVICE_UNAVAILABLE']]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);

    const small = new OnDemandRenderer(storage, limits, { concurrency: 1, memoryBytes: 8 * 1024 * 1024, maxWaiting: 1 });
    const big = params('w=2000&fm=webp');
    const tooBig = await small
      .render(small.locate(source, 'tn_1', big, undefined).key, source, big, undefined, [])
      .catch((e: AppError) => e);
    expect(tooBig).toMatchObject({ status: 422, code: 'IMAGE_TOO_LARGE' });
  });
});
