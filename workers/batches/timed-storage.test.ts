import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../../cdn/fs-storage.js';
import { timedStorage } from './timed-storage.js';

const root = await mkdtemp(path.join(tmpdir(), 'timed-storage-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const put = { contentType: 'application/octet-stream' };

describe('timed storage', () => {
  it('keeps what it wrote and times reads, writes and listings', async () => {
    const timed = timedStorage(fsStorage({ root }), { keepWrites: true });
    await Promise.all([timed.storage.put('t/a/1', Buffer.from('one'), put), timed.storage.put('t/a/2', Buffer.from('two'), put)]);
    expect(String(await timed.storage.get('t/a/1'))).toBe('one');
    const keys: string[] = [];
    for await (const key of timed.storage.list('t/a/')) keys.push(key);
    expect(keys).toEqual(['t/a/1', 't/a/2']);
    expect([...timed.written.keys()].sort()).toEqual(['t/a/1', 't/a/2']);
    const t = timed.timings();
    expect(t.writeMs).toBeGreaterThan(0);
    expect(t.readMs).toBeGreaterThan(0);
    expect(t.listMs).toBeGreaterThan(0);
  });

  it('answers reads of bytes at hand without touching the store', async () => {
    const inner = fsStorage({ root });
    const timed = timedStorage(inner, { known: new Map([['t/b/absent', new Uint8Array([1, 2, 3])]]) });
    // Not in the store at all: the bytes came with the step's result.
    expect(await inner.get('t/b/absent')).toBeUndefined();
    expect([...(await timed.storage.get('t/b/absent'))!]).toEqual([1, 2, 3]);
    expect(timed.timings().readMs).toBe(0);
  });
});
