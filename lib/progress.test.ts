import { describe, expect, it } from 'vitest';
import { bar, progressBar, REDRAW } from './progress.js';

describe('the progress bar', () => {
  it('draws one bar, clamped to its width', () => {
    expect(bar(0, 4)).toBe('[----]');
    expect(bar(0.5, 4)).toBe('[##--]');
    expect(bar(2, 4)).toBe('[####]');
  });

  it('redraws a download in place on a terminal and writes every tenth otherwise', () => {
    const lines: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (s: string) => lines.push(s) }) as unknown as NodeJS.WriteStream;
    progressBar('model', stream(true))(1_048_576, 1_048_576);
    expect(lines.pop()).toBe(`${REDRAW}model ${bar(1, 30)} 1.0/1.0 MB`);
    const plain = progressBar('model', stream(false));
    for (let done = 0; done <= 10; done++) plain(done, 10);
    expect(lines).toEqual(Array.from({ length: 11 }, (_, i) => `model: ${i * 10}%\n`));
  });
});
