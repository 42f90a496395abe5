// Entry point: sign in and out, and the views (upload, batches, templates, experiments) by URL hash.

import { AUTH_LOST, checkKey, clearKey, getKey, setKey } from './api.js';
import { initBatches } from './batch.js';
import { initExperiments } from './experiments.js';
import { fetchTemplates, initTemplates } from './templates.js';
import { initUpload } from './upload.js';

const VIEWS = ['upload', 'batches', 'templates', 'experiments'];
const $ = (id) => document.getElementById(id);

/** One AbortController per signed-in session: signing out cancels every request and stream. */
let controller = new AbortController();
const signals = { current: () => controller.signal };

const upload = initUpload({ signals });
const batches = initBatches({ signals });
const templates = initTemplates({ signals });
const experiments = initExperiments({ signals });

function route() {
  const signedIn = Boolean(getKey());
  const view = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'upload';
  $('sign-in-view').hidden = signedIn;
  $('nav').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  for (const name of VIEWS) $(`${name}-view`).hidden = !signedIn || name !== view;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#${view}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (signedIn && view === 'templates') templates.show();
  if (signedIn && view === 'experiments') experiments.show();
  if (view !== 'batches') batches.stop();
}

async function startSession() {
  route();
  upload.setTemplates(await fetchTemplates(signals.current()).catch(() => null));
}

function signOut(message = '') {
  controller.abort();
  controller = new AbortController();
  clearKey();
  upload.reset();
  batches.reset();
  templates.reset();
  experiments.reset();
  $('sign-in-error').textContent = message;
  route();
  $('api-key').focus();
}

$('sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('api-key').value.trim();
  const error = $('sign-in-error');
  error.textContent = '';
  try {
    await checkKey(key);
  } catch (err) {
    error.textContent = err.status === 401 ? 'That key was refused. Check it and try again.' : `Could not sign in: ${err.message}`;
    return;
  }
  setKey(key);
  $('api-key').value = '';
  await startSession();
  $('main').focus();
});
$('sign-out').addEventListener('click', () => signOut('Signed out.'));
window.addEventListener(AUTH_LOST, () => signOut('Your key was refused; sign in again.'));
window.addEventListener('hashchange', () => {
  route();
  $('main').focus();
});
// A file dropped outside the drop zone must not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

if (getKey()) startSession();
else route();
