// Experiments: the tenant's experiments, and one's results with a plot of each variant's
// conversion rate against the control (point and 95% interval of the difference).

import { api } from './api.js';
import { h } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const pct = (x, digits = 1) => (x == null ? '–' : `${(x * 100).toFixed(digits)}%`);

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children) if (child != null) el.append(child);
  return el;
}

/**
 * One row per variant: the difference of its conversion rate from the control's (percentage
 * points), its interval as a line, zero as the reference. Drawn with SVG attributes only (the
 * page's CSP allows no inline style).
 */
export function liftPlot(results) {
  const rows = results.variants;
  const values = rows.flatMap((v) => (v.differenceInterval ? v.differenceInterval : [v.difference ?? 0]));
  const span = Math.max(0.001, ...values.map(Math.abs)) * 1.1;
  const width = 520;
  const left = 110;
  const row = 34;
  const height = rows.length * row + 30;
  const x = (d) => left + ((d + span) / (2 * span)) * (width - left - 20);
  const plot = svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      class: 'lift-plot',
      'aria-label': 'Difference in conversion rate from the control, with 95% intervals',
    },
    svg('line', { x1: x(0), x2: x(0), y1: 5, y2: height - 25, stroke: '#6b7280', 'stroke-dasharray': '4 3' }),
    svg('text', { x: x(-span), y: height - 8, 'font-size': 11, fill: '#374151' }, `−${(span * 100).toFixed(1)} pp`),
    svg('text', { x: x(0) - 4, y: height - 8, 'font-size': 11, fill: '#374151' }, '0'),
    svg('text', { x: x(span) - 30, y: height - 8, 'font-size': 11, fill: '#374151' }, `+${(span * 100).toFixed(1)} pp`),
  );
  rows.forEach((v, i) => {
    const y = 20 + i * row;
    plot.append(svg('text', { x: 4, y: y + 4, 'font-size': 13, fill: '#111827' }, v.control ? `${v.id} (control)` : v.id));
    if (v.differenceInterval) {
      const [lo, hi] = v.differenceInterval;
      plot.append(svg('line', { x1: x(lo), x2: x(hi), y1: y, y2: y, stroke: v.significant ? '#047857' : '#1d4ed8', 'stroke-width': 3 }));
    }
    const d = v.control ? 0 : v.difference;
    if (d != null) plot.append(svg('circle', { cx: x(d), cy: y, r: 5, fill: v.control ? '#6b7280' : '#1d4ed8', 'data-variant': v.id }));
  });
  return plot;
}

function renderResults(experiment, results) {
  const head = ['Variant', 'Visitors', 'Impressions', 'Converters', 'Rate', 'Lift', '95% interval of lift', 'p'];
  return [
    h('h3', {}, experiment.name, ' ', h('span', { className: `badge state-${experiment.state}` }, experiment.state)),
    h(
      'p',
      { className: 'verdict', 'data-verdict': results.verdict },
      `Verdict: ${results.verdict}${results.winner ? ` (${results.winner})` : ''} · planned ${results.plannedVisitorsPerVariant} visitors per variant`,
    ),
    liftPlot(results),
    h(
      'table',
      { className: 'results' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        results.variants.map((v) =>
          h(
            'tr',
            { 'data-variant': v.id },
            h('td', {}, v.control ? `${v.id} (control)` : v.id),
            h('td', {}, String(v.visitors)),
            h('td', {}, String(v.impressions)),
            h('td', {}, String(v.converters)),
            h('td', {}, pct(v.conversionRate, 2)),
            h('td', {}, pct(v.lift)),
            h('td', {}, v.liftInterval ? `${pct(v.liftInterval[0])} to ${pct(v.liftInterval[1])}` : '–'),
            h('td', {}, v.pValue == null ? '–' : v.pValue.toFixed(4)),
          ),
        ),
      ),
    ),
    h('p', { className: 'hint' }, results.test),
  ];
}

export function initExperiments({ signals }) {
  const list = document.getElementById('experiments-list');
  const output = document.getElementById('experiment-output');

  async function open(id) {
    try {
      const signal = signals.current();
      const [experiment, results] = await Promise.all([
        api(`/v1/experiments/${encodeURIComponent(id)}`, { signal }),
        api(`/v1/experiments/${encodeURIComponent(id)}/results`, { signal }),
      ]);
      output.replaceChildren(...renderResults(experiment, results));
    } catch (err) {
      if (err?.name !== 'AbortError')
        output.replaceChildren(h('p', { className: 'notice' }, `Could not load the experiment: ${err.message}`));
    }
  }

  async function show() {
    try {
      const { experiments } = await api('/v1/experiments', { signal: signals.current() });
      list.replaceChildren(
        experiments.length
          ? h(
              'ul',
              {},
              experiments.map((e) =>
                h(
                  'li',
                  {},
                  h('button', { type: 'button', className: 'link', onclick: () => open(e.id) }, e.name),
                  ` · ${e.state} · ${e.id}`,
                ),
              ),
            )
          : h('p', {}, 'No experiments yet: POST /v1/experiments creates one.'),
      );
    } catch (err) {
      if (err?.name !== 'AbortError') list.replaceChildren(h('p', { className: 'notice' }, `Could not list experiments: ${err.message}`));
    }
  }

  return {
    show,
    reset: () => {
      list.replaceChildren();
      output.replaceChildren();
    },
  };
}
