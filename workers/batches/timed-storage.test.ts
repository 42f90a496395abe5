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
  it('times reads, writes (copies among them) and listings', async () => {
    const timed = timedStorage(fsStorage({ root }));
    await Promise.all([timed.storage.put('t/a/1', Buffer.from('one'), put), timed.storage.put('t/a/2', Buffer.from('two'), put)]);
    const afterPuts = timed.timings().writeMs;
    expect(afterPuts).toBeGreaterThan(0);
    expect(await timed.storage.copy('t/a/1', 't/a/3')).toBe(true);
    expect(timed.timings().writeMs).toBeGreaterThan(afterPuts);
    expect(String(await timed.storage.get('t/a/3'))).toBe('one');
    const keys: string[] = [];
    for await (const key of timed.storage.list('t/a/')) keys.push(key);
    expect(keys).toEqual(['t/a/1', 't/a/2', 't/a/3']);
    const t = timed.timings();
    expect(t.readMs).toBeGreaterThan(0);
    expect(t.listMs).toBeGreaterThan(0);
  });
});
