import { describe, expect, it } from 'vitest';
import { createStepPool } from './step-pool.js';

describe('step pool yield', () => {
  it('holds work outside the children while they are frozen and lets it go on thaw or close', async () => {
    // No task is run, so no child is started: only the frozen state is exercised.
    const pool = createStepPool(1, {});
    await pool.thawed();
    pool.setFrozen(true);
    let released = 0;
    const waiting = [pool.thawed(), pool.thawed()].map((p) => p.then(() => released++));
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toBe(0);
    pool.setFrozen(false);
    await Promise.all(waiting);
    expect(released).toBe(2);

    pool.setFrozen(true);
    const onClose = pool.thawed();
    await pool.close();
    await onClose;
  });
});
