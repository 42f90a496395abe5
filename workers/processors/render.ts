import type { ObjectStorage } from '../../cdn/storage.js';
import { IMMUTABLE_CACHE_CONTROL, renditionKey, renditionSetId, renditionSetMarkerKey } from '../../cdn/keys.js';
import { AppError } from '../../lib/errors.js';
import { renderResultSchema, type JobData, type RenderResult } from '../catalogue.js';
import { decodeSource, type DecodeLimits } from '../steps/decode.js';
import { ENCODER_SETTINGS, renderResponsiveSet } from '../steps/responsive-set.js';
import { CONTENT_TYPES } from '../steps/types.js';
import type { StepInput } from '../step-input.js';

export interface RenderDeps {
  storage: ObjectStorage;
  decodeLimits: DecodeLimits;
}

type RenderedSet = Omit<RenderResult, 'channels' | 'template'>;

/**
 * The render step: decode its input (the original, or the previous step's output) once, build every width × format, write each rendition under
 * its content-addressed key. Renditions are immutable, so a set already written (its marker
 * exists) is "nothing to do" and returns at once. After a generate step with several channels,
 * each channel's scene gets its own set; the first one also fills the single-set fields.
 */
export async function processRender(
  data: JobData<'render'>,
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
    const set = await renderSet(data, layout, deps, (p) => reportProgress(Math.round(i * share + (p * share) / 100)), signal, templateVersion, layout.channel);
    channels.push({ channel: layout.channel, ...set });
  }
  const { channel: _first, ...first } = channels[0]!;
  return { ...first, channels, ...(input.template ? { template: input.template } : {}) };
}

async function renderSet(
  data: JobData<'render'>,
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
  if (existing) return renderResultSchema.parse(JSON.parse(existing.toString('utf8')));

  const source = await deps.storage.get(input.key);
  if (!source) throw new AppError(404, 'NOT_FOUND', `The step input ${input.key} is missing from storage.`);
  await reportProgress(5);
  const decoded = await decodeSource(source, deps.decodeLimits, signal);
  await reportProgress(15);
  const set = await renderResponsiveSet(decoded, data.options, signal);
  await reportProgress(85);

  const renditions = await Promise.all(
    set.variants.map(async (v) => {
      const key = renditionKey(data.tenantId, setId, v.width, v.format);
      await deps.storage.put(key, v.data, { contentType: CONTENT_TYPES[v.format], cacheControl: IMMUTABLE_CACHE_CONTROL });
      return { key, width: v.width, height: v.height, format: v.format, bytes: v.data.length };
    }),
  );
  const result: RenderedSet = {
    setId,
    width: set.width,
    height: set.height,
    hasAlpha: set.hasAlpha,
    thumbhash: set.thumbhash,
    dominantColor: set.dominantColor,
    renditions,
  };
  // The marker goes last: its presence means every rendition before it is whole.
  await deps.storage.put(markerKey, Buffer.from(JSON.stringify(result)), { contentType: 'application/json', cacheControl: IMMUTABLE_CACHE_CONTROL });
  await reportProgress(100);
  return result;
}
