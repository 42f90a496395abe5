import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { UploadCheckPool } from './upload-checks.js';

/** A check that runs until the test lets it end. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, work: () => opened };
}

const MiB = 1024 * 1024;

describe('UploadCheckPool', () => {
  it('runs at most `concurrency` checks at once and admits the others in order', async () => {
    const pool = new UploadCheckPool({ concurrency: 2, memoryBytes: 100 * MiB, maxWaiting: 8 });
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      pool.run(MiB, async () => {
        started.push(i);
        await g.work();
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(pool.load()).toMatchObject({ running: 2, waiting: 1, reservedBytes: 2 * MiB, idle: false });
    gates[0]!.open();
    await runs[0];
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    gates[2]!.open();
    await Promise.all(runs);
    expect(pool.load()).toEqual({ running: 0, waiting: 0, reservedBytes: 0, saturated: false, idle: true });
  });

  it('runs checks one after another when their memory together would pass the budget', async () => {
    const pool = new UploadCheckPool({ concurrency: 4, memoryBytes: 1000 * MiB, maxWaiting: 8 });
    const a = gate();
    const first = pool.run(800 * MiB, a.work);
    let secondStarted = false;
    const second = pool.run(800 * MiB, async () => {
      secondStarted = true;
    });
    await Promise.resolve();
    expect(secondStarted).toBe(false);
    a.open();
    await Promise.all([first, second]);
    expect(secondStarted).toBe(true);
  });

  it('refuses a check that alone needs more than the budget with 422 IMAGE_TOO_LARGE, running nothing', async () => {
    const pool = new UploadCheckPool({ concurrency: 2, memoryBytes: 100 * MiB, maxWaiting: 8 });
    let ran = false;
    const refused = await pool
      .run(101 * MiB, async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect([(refused as AppError).status, (refused as AppError).code]).toEqual([422, 'IMAGE_TOO_LARGE']);
    expect((refused as AppError).details).toEqual({ decodeBytes: 101 * MiB, maxDecodeBytes: 100 * MiB });
  });

  it('refuses with 503 SERVICE_UNAVAILABLE once `maxWaiting` checks wait, and reports itself saturated meanwhile', async () => {
    const pool = new UploadCheckPool({ concurrency: 1, memoryBytes: 100 * MiB, maxWaiting: 1 });
    const a = gate();
    const running = pool.run(MiB, a.work);
    expect(pool.load().saturated).toBe(false);
    const waiting = pool.run(MiB, async () => undefined);
    expect(pool.load().saturated).toBe(true);
    const refused = await pool.run(MiB, async () => undefined).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect([(refused as AppError).status, (refused as AppError).code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    a.open();
    await Promise.all([running, waiting]);
    expect(pool.load().saturated).toBe(false);
  });

  it('frees its slot and memory when a check fails', async () => {
    const pool = new UploadCheckPool({ concurrency: 1, memoryBytes: 10 * MiB, maxWaiting: 0 });
    await expect(pool.run(10 * MiB, async () => Promise.reject(new Error('corrupt')))).rejects.toThrow('corrupt');
    await expect(pool.run(10 * MiB, async () => 'ok')).resolves.toBe('ok');
  });
});
