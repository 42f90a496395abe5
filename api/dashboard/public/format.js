// Small formatting helpers shared by the views.

export function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** "−87%" when smaller than the original, "+12%" when larger. */
export function formatSavings(bytes, originalBytes) {
  if (!originalBytes) return '';
  const change = Math.round((bytes / originalBytes - 1) * 100);
  return change <= 0 ? `−${Math.abs(change)}%` : `+${change}%`;
}

export function formatDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return 'unknown';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** document.createElement with properties, attributes (aria-*, data-*, role…) and children. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (name in el && !name.includes('-') && name !== 'role') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) if (child != null) el.append(child);
  return el;
}
