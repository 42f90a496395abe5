import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

describe('DecoderThread', () => {
  it('keeps its idle thread without keeping the process alive', async () => {
    // A process that decodes once with a thread kept ten minutes: it must still end on its own
    // right after (as `pipeline render` must), so the idle thread may not hold the event loop.
    const script = `
      import { readFile } from 'node:fs/promises';
      import { DecoderThread } from ${JSON.stringify(new URL('./decoder-thread.ts', import.meta.url).href)};
      const bytes = await readFile(${JSON.stringify(fileURLToPath(new URL('../../test/fixtures/heic/coffee.heic', import.meta.url)))});
      const reply = await new DecoderThread(600_000).run({ bytes, maxPixels: 1e8, maxImages: 1, pixels: false }, 0);
      console.log(JSON.stringify({ ok: reply.ok, width: reply.width }));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onTestFinished(() => void child.kill()); // a failing run would otherwise linger ten minutes
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ ok: true, width: 600 });
  }, 60_000);
});
