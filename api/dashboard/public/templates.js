// Scene templates: the list (fed by GET /v1/templates) and each one's preview image, fetched
// with the key and shown through an object URL.

import { api, apiFetch } from './api.js';
import { h } from './format.js';

/** The templates, or null when this server has no templates route (404). */
export async function fetchTemplates(signal) {
  try {
    // The list pages by cursor (GET /v1/templates): follow next_cursor to the end.
    const templates = [];
    let cursor = null;
    do {
      const body = await api(`/v1/templates?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { signal });
      templates.push(...body.templates);
      cursor = body.next_cursor;
    } while (cursor);
    return templates;
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

export function initTemplates({ signals }) {
  const output = document.getElementById('templates-output');
  let urls = [];
  const revoke = () => {
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
  };

  async function preview(template, img, note) {
    try {
      const res = await apiFetch(`/v1/templates/${encodeURIComponent(template.id)}/preview.png`, { signal: signals.current() });
      if (!res.ok) throw new Error(`preview answered ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      urls.push(url);
      img.src = url;
    } catch (err) {
      if (err?.name !== 'AbortError') note.textContent = 'No preview.';
    }
  }

  async function show() {
    revoke();
    output.replaceChildren(h('p', {}, 'Loading templates…'));
    let templates;
    try {
      templates = await fetchTemplates(signals.current());
    } catch (err) {
      return output.replaceChildren(h('p', { className: 'notice' }, `Could not load templates: ${err.message}`));
    }
    if (!templates)
      return output.replaceChildren(
        h('p', { className: 'notice', 'data-unavailable': true }, 'Templates are not available on this server.'),
      );
    if (!templates.length) return output.replaceChildren(h('p', {}, 'No templates yet.'));
    output.replaceChildren(
      h(
        'ul',
        { className: 'templates' },
        templates.map((t) => {
          const img = h('img', { alt: `Preview of ${t.name}` });
          const note = h('p', { className: 'hint' });
          preview(t, img, note);
          return h(
            'li',
            { className: 'template', 'data-template': t.id },
            img,
            h('h3', {}, t.name, t.builtin ? h('span', { className: 'badge' }, 'built-in') : null),
            h('p', {}, t.description ?? ''),
            h('p', { className: 'hint' }, `Version ${t.version} · ${t.id}`),
            note,
          );
        }),
      ),
    );
  }
  return {
    show,
    reset: () => {
      revoke();
      output.replaceChildren();
    },
  };
}
