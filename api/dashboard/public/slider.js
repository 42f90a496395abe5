// A before/after comparison: the original on the left of the divider, the result on the right.
// The whole frame is one ARIA slider: arrow keys move it by 5 (Shift: 20), Page Up/Down by 20,
// Home/End to the ends; pointer drag works too.

import { h } from './format.js';

const STEP = 5;
const BIG_STEP = 20;

export function comparisonSlider({ beforeUrl, afterUrl, width, height, label }) {
  const before = h('img', { className: 'compare-before', src: beforeUrl, alt: 'Original', draggable: false });
  const after = h('img', { src: afterUrl, alt: 'Result', draggable: false });
  const frame = h(
    'div',
    {
      className: 'compare',
      role: 'slider',
      tabIndex: 0,
      'aria-label': label,
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-orientation': 'horizontal',
    },
    before,
    h('div', { className: 'compare-after' }, after),
    h('div', { className: 'compare-divider', 'aria-hidden': 'true' }),
  );
  if (width && height) frame.style.setProperty('--ratio', `${width} / ${height}`);

  let value = 50;
  const set = (next) => {
    value = Math.max(0, Math.min(100, Math.round(next)));
    frame.style.setProperty('--pos', `${value}%`);
    frame.setAttribute('aria-valuenow', String(value));
    frame.setAttribute('aria-valuetext', `${value}% original, ${100 - value}% result`);
  };
  set(50);

  frame.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? BIG_STEP : STEP;
    const moves = {
      ArrowLeft: value - step,
      ArrowDown: value - step,
      ArrowRight: value + step,
      ArrowUp: value + step,
      PageDown: value - BIG_STEP,
      PageUp: value + BIG_STEP,
      Home: 0,
      End: 100,
    };
    if (!(e.key in moves)) return;
    e.preventDefault();
    set(moves[e.key]);
  });

  const fromPointer = (e) => {
    const box = frame.getBoundingClientRect();
    set(((e.clientX - box.left) / box.width) * 100);
  };
  frame.addEventListener('pointerdown', (e) => {
    frame.setPointerCapture(e.pointerId);
    frame.focus();
    fromPointer(e);
  });
  frame.addEventListener('pointermove', (e) => {
    if (frame.hasPointerCapture(e.pointerId)) fromPointer(e);
  });
  return frame;
}
