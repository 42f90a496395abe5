import type { Env } from '../lib/env.js';
import { bar, REDRAW } from '../lib/progress.js';

/** Where the command line writes, and what it knows of its terminal; tests pass their own. */
export interface CliIo {
  stdout: { write(s: string | Uint8Array): unknown };
  stderr: { write(s: string): unknown };
  env: Env;
  /** True on a terminal: progress is a bar redrawn in place; otherwise one plain line per event. */
  isTTY: boolean;
}

const BAR_WIDTH = 24;

/** Progress over `total` files: a bar on a TTY, plain lines otherwise (logs, CI, pipes). */
export function progressReporter(io: CliIo, total: number) {
  let index = 0;
  let name = '';
  const draw = (note: string) => {
    io.stderr.write(`${REDRAW}${bar(index / total, BAR_WIDTH)} ${index}/${total} ${name}${note ? ` (${note})` : ''}`);
  };
  return {
    start(i: number, file: string) {
      index = i;
      name = file;
      if (io.isTTY) draw('');
    },
    step(step: string) {
      if (io.isTTY) draw(step);
    },
    done(line: string, failed = false) {
      index += 1;
      if (io.isTTY) {
        io.stderr.write(REDRAW);
        if (failed) io.stderr.write(`${line}\n`);
        draw('');
      } else {
        (failed ? io.stderr : io.stdout).write(`${line}\n`);
      }
    },
    finish() {
      if (io.isTTY) io.stderr.write(REDRAW);
    },
  };
}
