// Batch progress: counts, throughput, ETA and failures of a batch, refreshed while it runs.

import { api } from './api.js';
import { formatDuration, h } from './format.js';

const REFRESH_MS = 2000;
const COUNT_NAMES = ['total', 'waiting', 'active', 'completed', 'failed', 'cancelled'];

function renderBatch(batch) {
  const c = batch.counts;
  const finished = (c.completed ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0);
  const percent = c.total ? Math.round((finished / c.total) * 100) : 0;
  const bar = h('div', { className: 'bar' });
  bar.style.width = `${percent}%`;
  return [
    h('h3', {}, `Batch ${batch.id}`, ' ', h('span', { className: `badge state-${batch.state}` }, batch.state)),
    h(
      'div',
      {
        className: 'progress',
        role: 'progressbar',
        'aria-label': 'Batch progress',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': percent,
      },
      bar,
    ),
    h(
      'dl',
      { className: 'counts' },
      COUNT_NAMES.map((name) => h('div', {}, h('dt', {}, name), h('dd', { 'data-count': name }, String(c[name] ?? 0)))),
    ),
    h(
      'p',
      { className: 'rate' },
      `${finished} of ${c.total} finished · ${batch.throughputPerMinute ?? 0} per minute · ETA ${formatDuration(batch.etaSeconds)}`,
    ),
    batch.failures?.length
      ? h(
          'table',
          { className: 'failures' },
          h('caption', {}, `Failures (${batch.failures.length})`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Line', 'SKU', 'Code', 'Message'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            batch.failures.map((f) =>
              h(
                'tr',
                {},
                h('td', {}, String(f.line ?? '')),
                h('td', {}, f.sku ?? ''),
                h('td', {}, h('code', {}, f.code)),
                h('td', {}, f.message),
              ),
            ),
          ),
        )
      : h('p', {}, 'No failures.'),
  ];
}

export function initBatches({ signals }) {
  const form = document.getElementById('batch-form');
  const output = document.getElementById('batch-output');
  let timer;

  const stop = () => clearTimeout(timer);
  async function load(id) {
    stop();
    try {
      const batch = await api(`/v1/batches/${encodeURIComponent(id)}`, { signal: signals.current() });
      output.replaceChildren(...renderBatch(batch));
      const c = batch.counts;
      if ((c.waiting ?? 0) + (c.active ?? 0) > 0) timer = setTimeout(() => load(id), REFRESH_MS);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      const text = err.status === 404 ? `Batch progress is not available: ${err.message}` : `Could not load the batch: ${err.message}`;
      output.replaceChildren(h('p', { className: 'notice', 'data-unavailable': err.status === 404 }, text));
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = String(new FormData(form).get('batch') ?? '').trim();
    if (id) load(id);
  });
  return {
    reset: () => {
      stop();
      output.replaceChildren();
      form.reset();
    },
    stop,
  };
}
