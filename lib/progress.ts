/** Clears the terminal line and returns to its start: a bar is redrawn in place. */
export const REDRAW = '\r\x1b[2K';

/** The one bar drawing: `[#####-----]`, `fraction` (0..1) of `width` filled. */
export const bar = (fraction: number, width: number): string => {
  const filled = Math.round(Math.min(Math.max(fraction, 0), 1) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
};

/** Called as bytes arrive; `total` is undefined when the server does not say. */
export type ProgressReporter = (done: number, total: number | undefined) => void;

/**
 * A one-line progress bar on stderr for a TTY (redrawn in place), or a line every 10% otherwise,
 * so CI logs show progress without thousands of lines.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressReporter & { finish(): void } {
  let lastDecile = -1;
  let lastDraw = 0;
  const mb = (n: number) => (n / 1_048_576).toFixed(1);
  const report = (done: number, total: number | undefined) => {
    const fraction = total ? Math.min(done / total, 1) : undefined;
    if (stream.isTTY) {
      if (Date.now() - lastDraw < 100 && fraction !== 1) return;
      lastDraw = Date.now();
      const drawn = fraction === undefined ? '' : `${bar(fraction, 30)} `;
      stream.write(`${REDRAW}${label} ${drawn}${mb(done)}${total ? `/${mb(total)}` : ''} MB`);
      return;
    }
    const decile = fraction === undefined ? Math.floor(done / 10_485_760) : Math.floor(fraction * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      stream.write(`${label}: ${fraction === undefined ? `${mb(done)} MB` : `${decile * 10}%`}\n`);
    }
  };
  return Object.assign(report, { finish: () => stream.isTTY && stream.write('\n') });
}
