// Upload view: drop (or pick) photos, send each with the chosen recipe, follow each run live.

import { api, apiFetch, toApiError } from './api.js';
import { h } from './format.js';
import { buildRecipe, PRESETS } from './recipes.js';
import { renderResult } from './result.js';
import { watchRun } from './sse.js';

/** Uploads in flight at once: enough to overlap network and queueing, gentle on rate limits. */
const CONCURRENT_UPLOADS = 2;
const STATE_TEXT = { uploading: 'Uploading…', queued: 'Queued', running: 'Running', completed: 'Completed', failed: 'Failed' };

export function initUpload({ signals }) {
  const form = document.getElementById('upload-form');
  const input = document.getElementById('file-input');
  const zone = document.getElementById('dropzone');
  const list = document.getElementById('uploads');
  const summary = document.getElementById('upload-summary');
  const announcer = document.getElementById('progress-announcer');
  const resultBox = document.getElementById('result');
  const presets = document.getElementById('presets');
  const cards = [];
  const waiting = [];
  let active = 0;

  presets.replaceChildren(
    ...Object.entries(PRESETS).map(([id, preset], i) =>
      h(
        'label',
        { className: 'preset' },
        h('input', { type: 'radio', name: 'preset', value: id, checked: i === 0 }),
        h('span', {}, preset.label),
        h('span', { className: 'hint' }, preset.hint),
      ),
    ),
  );

  /** Show the template picker when the server has templates (null: no templates route). */
  function setTemplates(templates) {
    const field = document.getElementById('template-field');
    const select = document.getElementById('template');
    select.replaceChildren(
      h('option', { value: '' }, 'No template'),
      ...(templates ?? []).map((t) => h('option', { value: t.id }, t.name)),
    );
    field.hidden = !templates?.length;
  }

  const announce = (text) => (announcer.textContent = text);
  const updateSummary = () => {
    const count = (s) => cards.filter((c) => c.state === s).length;
    const done = count('completed');
    const failed = count('failed');
    summary.textContent = cards.length ? `${done} of ${cards.length} done${failed ? `, ${failed} failed` : ''}` : '';
  };

  function addCard(file) {
    const bar = h('div', { className: 'bar' });
    const card = {
      file,
      state: 'uploading',
      localUrl: URL.createObjectURL(file),
      stateEl: h('span', { className: 'state' }, STATE_TEXT.uploading),
      progress: h(
        'div',
        {
          className: 'progress',
          role: 'progressbar',
          'aria-label': `${file.name} progress`,
          'aria-valuemin': 0,
          'aria-valuemax': 100,
          'aria-valuenow': 0,
        },
        bar,
      ),
      bar,
      steps: h('ol', { className: 'steps' }),
      error: h('p', { className: 'error', hidden: true }),
      view: h(
        'button',
        { type: 'button', className: 'view', hidden: true },
        'Show result',
        h('span', { className: 'visually-hidden' }, ` for ${file.name}`),
      ),
    };
    card.el = h(
      'li',
      { className: 'card', 'data-file': file.name },
      h('div', { className: 'card-head' }, h('strong', {}, file.name), card.stateEl),
      card.progress,
      card.steps,
      card.error,
      card.view,
    );
    card.view.addEventListener('click', () => showResult(card));
    list.append(card.el);
    cards.push(card);
    updateSummary();
    return card;
  }

  function setRun(card, run) {
    const before = card.state;
    card.state = run.state;
    card.stateEl.textContent = `${STATE_TEXT[run.state] ?? run.state} · ${run.progress}%`;
    card.progress.setAttribute('aria-valuenow', String(run.progress));
    card.bar.style.width = `${run.progress}%`;
    card.steps.replaceChildren(
      ...run.steps.map((s) =>
        h('li', { className: `step step-${s.state}` }, `${s.name}: ${s.state}${s.state === 'active' ? ` ${s.progress}%` : ''}`),
      ),
    );
    if (before !== run.state) announce(`${card.file.name}: ${STATE_TEXT[run.state] ?? run.state}`);
    updateSummary();
  }

  function fail(card, message) {
    card.state = 'failed';
    card.stateEl.textContent = STATE_TEXT.failed;
    card.error.textContent = message;
    card.error.hidden = false;
    announce(`${card.file.name} failed: ${message}`);
    updateSummary();
  }

  function showResult(card) {
    renderResult(resultBox, { name: card.file.name, localUrl: card.localUrl, asset: card.asset });
    document.getElementById('result-title').focus();
  }

  async function process(card, recipe, sku) {
    const signal = signals.current();
    const body = new FormData();
    body.append('recipe', JSON.stringify(recipe));
    if (sku) body.append('sku', sku);
    body.append('file', card.file, card.file.name);
    const res = await apiFetch('/v1/assets', { method: 'POST', body, signal });
    if (res.status !== 202) throw await toApiError(res);
    const { asset, run } = await res.json();
    setRun(card, run);
    const end = await watchRun(run.id, { onRun: (r) => setRun(card, r), signal });
    if (end.state !== 'completed') throw new Error(end.error?.message ?? `The run ended ${end.state}.`);
    card.asset = await api(`/v1/assets/${encodeURIComponent(asset.id)}`, { signal });
    card.view.hidden = false;
    announce(`${card.file.name} is ready`);
    if (resultBox.hidden) showResult(card);
  }

  function pump() {
    while (active < CONCURRENT_UPLOADS && waiting.length) {
      const job = waiting.shift();
      active++;
      process(job.card, job.recipe, job.sku)
        .catch((err) => {
          if (err?.name !== 'AbortError') fail(job.card, err.message);
        })
        .finally(() => {
          active--;
          pump();
        });
    }
  }

  function enqueue(files) {
    const images = [...files].filter((f) => f.type.startsWith('image/') || f.type === '');
    if (!images.length) return announce('Those were not images.');
    const data = new FormData(form);
    const recipe = buildRecipe(String(data.get('preset') ?? 'responsive'), String(data.get('template') ?? ''));
    const sku = images.length === 1 ? String(data.get('sku') ?? '').trim() : '';
    for (const file of images) waiting.push({ card: addCard(file), recipe, sku });
    announce(`${images.length} photo${images.length > 1 ? 's' : ''} queued`);
    pump();
  }

  input.addEventListener('change', () => {
    enqueue(input.files);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    enqueue(e.dataTransfer?.files ?? []);
  });

  return {
    setTemplates,
    /** Forget everything (sign out): object URLs revoked, lists emptied. */
    reset() {
      waiting.length = 0;
      for (const card of cards) URL.revokeObjectURL(card.localUrl);
      cards.length = 0;
      list.replaceChildren();
      resultBox.replaceChildren();
      resultBox.hidden = true;
      updateSummary();
    },
  };
}
