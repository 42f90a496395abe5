import { describe, expect, it } from 'vitest';
import { withTimeout } from './deadline.js';

describe('withTimeout', () => {
  const late = new Error('late');

  it('answers with the work when it settles first', async () => {
    await expect(withTimeout(Promise.resolve(7), 60_000, () => late)).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('own')), 60_000, () => late)).rejects.toThrow('own');
  });

  it('rejects with its own error when the work never settles', async () => {
    await expect(withTimeout(new Promise(() => undefined), 1, () => late)).rejects.toBe(late);
  });

  it('leaves no unhandled rejection when the work fails after the deadline', async () => {
    let fail!: (err: Error) => void;
    const work = new Promise((_, reject) => (fail = reject));
    await expect(withTimeout(work, 1, () => late)).rejects.toBe(late);
    fail(new Error('after'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});
