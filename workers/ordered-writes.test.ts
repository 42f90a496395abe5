import { describe, expect, it } from 'vitest';
import { OrderedWrites, retryWrite } from './ordered-writes.js';

const FAST = [1, 1, 1];

describe('retryWrite', () => {
  it('retries a write that fails while the store is away, then gives up with the last error', async () => {
    let calls = 0;
    await expect(
      retryWrite(async () => {
        if (++calls < 3) throw new Error('down');
        return 'ok';
      }, FAST),
    ).resolves.toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      retryWrite(async () => {
        calls++;
        throw new Error(`down ${calls}`);
      }, FAST),
    ).rejects.toThrow('down 4');
  });
});

describe('OrderedWrites', () => {
  it('lands the writes of one key in order, even when an earlier one needed retries', async () => {
    const landed: string[] = [];
    const writes = new OrderedWrites(FAST);
    let failuresLeft = 2;
    const first = writes.push('run:0', async () => {
      if (failuresLeft-- > 0) throw new Error('down');
      landed.push('active');
    });
    const second = writes.push('run:0', async () => {
      landed.push('completed');
    });
    await Promise.all([first, second]);
    expect(landed).toEqual(['active', 'completed']);
  });

  it('goes on with the next write of a key after one whose retries are spent, and reports the failure to its caller', async () => {
    const writes = new OrderedWrites(FAST);
    const failed = writes.push('run:1', async () => {
      throw new Error('gone');
    });
    const next = writes.push('run:1', async () => undefined);
    await expect(failed).rejects.toThrow('gone');
    await expect(next).resolves.toBeUndefined();
  });
});
