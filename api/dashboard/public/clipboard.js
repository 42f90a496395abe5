// Copy text: the async Clipboard API where allowed, else a hidden textarea and execCommand
// (older browsers, non-secure origins, denied permissions).

export async function copyText(text) {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied or unavailable: fall through to the legacy path.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } finally {
    area.remove();
  }
  return ok;
}

/** A "Copy" button for a value; it says "Copied" for a moment (announced to screen readers). */
export function copyButton(label, getText, status) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'copy';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', `Copy ${label}`);
  button.addEventListener('click', async () => {
    const ok = await copyText(getText());
    button.textContent = ok ? 'Copied' : 'Copy failed';
    if (status) status.textContent = ok ? `${label} copied` : `Could not copy ${label}`;
    setTimeout(() => (button.textContent = 'Copy'), 2000);
  });
  return button;
}
