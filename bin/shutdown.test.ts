import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { forkExecArgv } from '../lib/fork-args.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, 'testing', 'shutdown-child.ts');

/** Start a process whose close takes `closeMs` (or never ends) under a deadline, SIGTERM it once ready. */
async function stop(closeMs: number | 'never', deadlineMs: number) {
  const child = spawn(process.execPath, [...forkExecArgv(CHILD), CHILD, String(closeMs), String(deadlineMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  while (!out.includes('ready')) await once(child.stdout, 'data');
  const sentAt = Date.now();
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, ms: Date.now() - sentAt };
}

describe('onShutdownSignals', () => {
  it('exits 0 with a "stopped" line when the close ends before the deadline', async () => {
    const { code, out } = await stop(50, 5000);
    expect(code).toBe(0);
    expect(out).toMatch(/stopped in \d+ ms/);
    expect(out).not.toContain('deadline passed');
  });

  it('exits 1 by itself at the deadline when the close never ends, saying so', async () => {
    const { code, out, ms } = await stop('never', 300);
    expect(code).toBe(1);
    expect(out).toContain('shutdown deadline passed (SHUTDOWN_TIMEOUT_SECONDS)');
    expect(out).not.toContain('stopped in');
    // The deadline, plus the log flush; far from the hang it replaces.
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(10_000);
  });
});
