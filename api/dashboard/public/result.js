// The result of a run: comparison slider, the gallery of renditions, the <picture> snippet and
// the URLs, each with a copy button.

import { copyButton } from './clipboard.js';
import { formatBytes, formatSavings, h } from './format.js';
import { comparisonSlider } from './slider.js';

/** The image to compare against: the widest WebP up to 1280 px (keeps transparency), else the fallback. */
function resultImage(manifest) {
  const webp = manifest.renditions.filter((r) => r.format === 'webp' && r.width <= 1280);
  return webp.length ? webp.reduce((a, b) => (b.width > a.width ? b : a)) : manifest.fallback;
}

function gallery(manifest, originalBytes, status) {
  return h(
    'ul',
    { className: 'gallery', 'aria-label': 'Renditions' },
    manifest.renditions.map((r) =>
      h(
        'li',
        { className: 'rendition', 'data-format': r.format, 'data-width': r.width },
        h('img', {
          src: r.url,
          alt: `${r.format.toUpperCase()} ${r.width} pixels wide`,
          loading: 'lazy',
          width: r.width,
          height: r.height,
        }),
        h(
          'dl',
          {},
          h('dt', {}, 'Format'),
          h('dd', { className: 'format' }, r.format.toUpperCase()),
          h('dt', {}, 'Size'),
          h('dd', { className: 'dimensions' }, `${r.width}×${r.height}`),
          h('dt', {}, 'Bytes'),
          h('dd', { className: 'bytes', 'data-bytes': r.bytes }, formatBytes(r.bytes)),
          h('dt', {}, 'vs original'),
          h('dd', { className: 'savings' }, formatSavings(r.bytes, originalBytes)),
        ),
        h(
          'a',
          { href: r.url, target: '_blank', rel: 'noopener' },
          'Open',
          h('span', { className: 'visually-hidden' }, ` ${r.format} ${r.width}`),
        ),
        copyButton(`${r.format.toUpperCase()} ${r.width} URL`, () => r.url, status),
      ),
    ),
  );
}

function urlList(asset, manifest, status) {
  const rows = [
    ['Manifest', asset.manifestUrl],
    ['Fallback image', manifest.fallback.url],
  ];
  for (const [format, srcset] of Object.entries(manifest.srcset)) if (srcset) rows.push([`${format.toUpperCase()} srcset`, srcset]);
  return h(
    'dl',
    { className: 'urls' },
    rows
      .filter(([, v]) => v)
      .map(([label, value]) => [
        h('dt', {}, label),
        h(
          'dd',
          {},
          h('code', {}, value),
          copyButton(label, () => value, status),
        ),
      ]),
  );
}

/**
 * The on-demand URLs of the manifest (GET /img/…, imgix's URL API): the same result at any width,
 * crop or format, beside the pre-rendered files. Nothing when the manifest offers none.
 */
function onDemandSection(manifest, status) {
  const od = manifest.onDemand;
  if (!od) return [];
  const rows = [
    ['On-demand base URL', od.base],
    ['On-demand srcset (auto=format)', od.srcset],
    ['On-demand fallback image', od.url],
    ['Original on demand', manifest.source.onDemand],
  ].filter(([, v]) => v);
  return [
    h('h3', { id: 'on-demand-title' }, 'Any size, on demand'),
    h(
      'p',
      { className: 'hint' },
      `Add imgix parameters to the base URL (w, h, fit, crop, fm, q, dpr, …): each size is rendered once, then cached. ` +
        `The srcset covers ${od.widths.length} widths, ${od.widths[0]}–${od.widths[od.widths.length - 1]} px.`,
    ),
    h(
      'dl',
      { className: 'urls', 'aria-labelledby': 'on-demand-title' },
      rows.map(([label, value]) => [
        h('dt', {}, label),
        h(
          'dd',
          {},
          h('code', {}, value),
          copyButton(label, () => value, status),
        ),
      ]),
    ),
    h('h4', {}, h('code', {}, '<picture>'), ' snippet on on-demand URLs'),
    h(
      'div',
      { className: 'snippet' },
      h('pre', {}, h('code', { id: 'on-demand-picture-snippet' }, od.picture)),
      copyButton('on-demand picture snippet', () => od.picture, status),
    ),
  ];
}

/**
 * Render the result of an asset into `container`. `localUrl` is an object URL of the uploaded
 * file (originals are private, so the page compares against what the user dropped).
 */
export function renderResult(container, { name, localUrl, asset }) {
  const manifest = asset.manifest;
  const status = h('p', { className: 'visually-hidden', role: 'status' });
  const after = resultImage(manifest);
  const snippet = manifest.picture;
  container.replaceChildren(
    h('h2', { id: 'result-title', tabIndex: -1 }, `Result: ${name}`),
    status,
    localUrl
      ? comparisonSlider({
          beforeUrl: localUrl,
          afterUrl: after.url,
          width: asset.original.width,
          height: asset.original.height,
          label: 'Compare original and result',
        })
      : h('p', { className: 'hint' }, 'The original is private; the comparison is shown for photos uploaded in this tab.'),
    h('h3', {}, 'Renditions'),
    h(
      'p',
      { className: 'hint' },
      `Original: ${asset.original.format.toUpperCase()}, ${asset.original.width}×${asset.original.height}, ${formatBytes(asset.original.bytes)}.`,
    ),
    gallery(manifest, asset.original.bytes, status),
    h('h3', {}, h('code', {}, '<picture>'), ' snippet'),
    h(
      'div',
      { className: 'snippet' },
      h('pre', {}, h('code', { id: 'picture-snippet' }, snippet)),
      copyButton('picture snippet', () => snippet, status),
    ),
    h('h3', {}, 'URLs'),
    urlList(asset, manifest, status),
    ...onDemandSection(manifest, status),
  );
  container.hidden = false;
}
