import sharp from 'sharp';
import type { ObjectStorage } from '../../cdn/storage.js';
import { IMMUTABLE_CACHE_CONTROL, renditionKey, renditionMasterKey, renditionSetId, renditionSetMarkerKey } from '../../cdn/keys.js';
import { renditionSurrogateKeys, SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';
import { missingObject } from '../../lib/errors.js';
import { renderResultSchema, type RenderResult, type RenderJobData } from '../catalogue.js';
import { decodeSource, type DecodeLimits } from '../steps/decode.js';
import { ENCODER_SETTINGS, renderResponsiveSet } from '../steps/responsive-set.js';
import { CONTENT_TYPES } from '../steps/types.js';
import type { StepInput } from '../step-input.js';

export interface RenderDeps {
  storage: ObjectStorage;
  decodeLimits: DecodeLimits;
  /** Write a lossless master of each set (`r/<set>/master.png`): the source of on-demand URLs (/img) and of imgix's. */
  writeMaster?: boolean;
}

/** The render step's dependencies, one way for every process that renders (workers, sandbox, batch child, CLI). */
export const renderDeps = (storage: ObjectStorage, decodeLimits: DecodeLimits): RenderDeps => ({
  storage,
  decodeLimits,
  // Always: the on-demand endpoint (/img) renders from it, with or without imgix in front.
  writeMaster: true,
});

type RenderedSet = Omit<RenderResult, 'channels' | 'template'>;

/**
 * The render step: decode its input (the original, or the previous step's output) once, build every width × format, write each rendition under
 * its content-addressed key. Renditions are immutable, so a set already written (its marker
 * exists) is "nothing to do" and returns at once. After a generate step with several channels,
 * each channel's scene gets its own set; the first one also fills the single-set fields.
 */
export async function processRender(
  data: RenderJobData,
  input: StepInput,
  deps: RenderDeps,
  reportProgress: (percent: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<RenderResult> {
  const templateVersion = input.template?.version;
  if (!input.layouts) return renderSet(data, { key: input.key, id: input.id }, deps, reportProgress, signal, templateVersion);
  const channels: NonNullable<RenderResult['channels']> = [];
  for (const [i, layout] of input.layouts.entries()) {
    const share = 100 / input.layouts.length;
    const set = await renderSet(
      data,
      layout,
      deps,
      (p) => reportProgress(Math.round(i * share + (p * share) / 100)),
      signal,
      templateVersion,
      layout.channel,
    );
    channels.push({ channel: layout.channel, ...set });
  }
  const { channel: _first, ...first } = channels[0]!;
  return { ...first, channels, ...(input.template ? { template: input.template } : {}) };
}

async function renderSet(
  data: RenderJobData,
  input: { key: string; id: string },
  deps: RenderDeps,
  reportProgress: (percent: number) => Promise<void>,
  signal: AbortSignal | undefined,
  templateVersion: string | undefined,
  channel?: string,
): Promise<RenderedSet> {
  const setId = renditionSetId({
    sourceSha256: input.id,
    recipe: channel ? { ...data.options, channel } : data.options,
    encoderVersion: ENCODER_SETTINGS.version,
    ...(templateVersion ? { templateVersion } : {}),
  });
  const markerKey = renditionSetMarkerKey(data.tenantId, setId);
  const existing = await deps.storage.get(markerKey);
  // A set made before masters were always written has none: render it again (same bytes), with one.
  if (existing) {
    const stored = renderResultSchema.parse(JSON.parse(existing.toString('utf8')));
    if (stored.master || !deps.writeMaster) return stored;
  }

  const source = await deps.storage.get(input.key);
  if (!source) throw missingObject(input.key);
  await reportProgress(5);
  const decoded = await decodeSource(source, deps.decodeLimits, signal);
  await reportProgress(15);
  const set = await renderResponsiveSet(decoded, data.options, signal);
  await reportProgress(85);

  // A set belongs to one asset: its id derives from the asset's original (see renditionSetId), and
  // an asset id is the hash of tenant + original. So the tenant and asset keys it is written with
  // are the only ones it will ever need, and a purge of either reaches it.
  const immutable = {
    cacheControl: IMMUTABLE_CACHE_CONTROL,
    metadata: { [SURROGATE_KEY_METADATA]: renditionSurrogateKeys(data.tenantId, data.assetId).join(' ') },
  };
  const renditions = await Promise.all(
    set.variants.map(async (v) => {
      const key = renditionKey(data.tenantId, setId, v.width, v.format);
      await deps.storage.put(key, v.data, { contentType: CONTENT_TYPES[v.format], ...immutable });
      return { key, width: v.width, height: v.height, format: v.format, bytes: v.data.length };
    }),
  );
  let master: RenderedSet['master'];
  if (deps.writeMaster) {
    // Lossless and built from the decoded pixels, so it carries no EXIF/GPS of the original.
    const png = await sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: decoded.channels } })
      .png({ compressionLevel: 6 })
      .toBuffer();
    signal?.throwIfAborted();
    master = { key: renditionMasterKey(data.tenantId, setId), width: decoded.width, height: decoded.height };
    await deps.storage.put(master.key, png, { contentType: 'image/png', ...immutable });
  }
  const result: RenderedSet = {
    setId,
    width: set.width,
    height: set.height,
    hasAlpha: set.hasAlpha,
    thumbhash: set.thumbhash,
    dominantColor: set.dominantColor,
    renditions,
    ...(master ? { master } : {}),
  };
  // The marker goes last: its presence means every rendition before it is whole.
  await deps.storage.put(markerKey, Buffer.from(JSON.stringify(result)), { contentType: 'application/json', ...immutable });
  await reportProgress(100);
  return result;
}
