import { describe, expect, it } from 'vitest';
import { isnetModel } from '../../models/isnet.js';
import { ort, type ModelSession } from '../../models/session.js';
import { predictSquare, QUALITY_VIEWS } from './isnet-views.js';
import type { DecodedImage } from './types.js';

const spec = isnetModel('medium');
const side = spec.input.shape[3]!;

/**
 * A stand-in for ISNet that answers each pixel's red input (back on 0..1) as its probability: the
 * views must then map every answer back onto the pixel it came from.
 */
function echoSession(): ModelSession & { calls: number } {
  const session = {
    spec,
    provider: 'cpu' as const,
    calls: 0,
    run(input: ort.Tensor) {
      session.calls++;
      const red = (input.data as Float32Array).subarray(0, side * side);
      return Promise.resolve(
        new ort.Tensor(
          'float32',
          Float32Array.from(red, (v) => v + 0.5),
          [1, 1, side, side],
        ),
      );
    },
  };
  return session;
}

/** A 256² photo whose red channel is a diagonal gradient with a bright off-centre square (not mirror-symmetric). */
function photo(): DecodedImage {
  const w = 256;
  const data = Buffer.alloc(w * w * 3);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const inSquare = x >= 30 && x < 90 && y >= 100 && y < 160;
      data[(y * w + x) * 3] = inSquare ? 255 : Math.round((x + y) / 4);
    }
  }
  return { data, width: w, height: w, channels: 3, hasAlpha: false };
}

describe('predictSquare', () => {
  it('standard runs the model once; best three times, every view mapped back onto the photo', async () => {
    const standardSession = echoSession();
    const standard = await predictSquare(photo(), standardSession, QUALITY_VIEWS.standard);
    expect(standardSession.calls).toBe(1);
    expect(standard.side).toBe(side);

    const bestSession = echoSession();
    const best = await predictSquare(photo(), bestSession, QUALITY_VIEWS.best);
    expect(bestSession.calls).toBe(3);
    // A view mapped back wrongly (not un-mirrored, not un-shrunk, off by its margin) moves the
    // bright square, which shows as errors of up to 1/3 along its edges.
    let worst = 0;
    let total = 0;
    for (let i = 0; i < side * side; i++) {
      const d = Math.abs(best.probabilities[i]! - standard.probabilities[i]!);
      worst = Math.max(worst, d);
      total += d;
    }
    // The shrunk view loses some sharpness at the square's edge, nothing more.
    expect(total / (side * side)).toBeLessThan(0.002);
    expect(worst).toBeLessThan(0.12);
  });

  it('maps a view with a margin back onto the photo: at 80% it matches the full-size view but for blur', async () => {
    const full = await predictSquare(photo(), echoSession(), [{ flip: false, scale: 1 }]);
    const shrunk = await predictSquare(photo(), echoSession(), [{ flip: false, scale: 0.8 }]);
    let total = 0;
    for (let i = 0; i < side * side; i++) total += Math.abs(shrunk.probabilities[i]! - full.probabilities[i]!);
    // Off by the margin (102 px) the bright square would leave a mean error near 0.03.
    expect(total / (side * side)).toBeLessThan(0.003);
  });

  it('outvotes one view that goes wrong (median of three), where a mean would carry it in', async () => {
    const plain = await predictSquare(photo(), echoSession(), [{ flip: false, scale: 1 }]);
    const session = echoSession();
    const echo = session.run.bind(session);
    // The second call answers "all product", like ISNet taking a busy floor for product.
    session.run = async (input: ort.Tensor) =>
      session.calls === 1
        ? (await echo(input), new ort.Tensor('float32', new Float32Array(side * side).fill(1), [1, 1, side, side]))
        : echo(input);
    const view = { flip: false, scale: 1 };
    const fused = await predictSquare(photo(), session, [view, view, view]);
    let worst = 0;
    for (let i = 0; i < side * side; i++) worst = Math.max(worst, Math.abs(fused.probabilities[i]! - plain.probabilities[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  it('mirrors for real: a one-view flip of an asymmetric photo matches the unflipped answer', async () => {
    const plain = await predictSquare(photo(), echoSession(), [{ flip: false, scale: 1 }]);
    const flipped = await predictSquare(photo(), echoSession(), [{ flip: true, scale: 1 }]);
    let worst = 0;
    for (let i = 0; i < side * side; i++) worst = Math.max(worst, Math.abs(flipped.probabilities[i]! - plain.probabilities[i]!));
    expect(worst).toBeLessThan(1e-6);
  });
});
