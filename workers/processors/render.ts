import type { ObjectStorage } from '../../cdn/storage.js';
import { IMMUTABLE_CACHE_CONTROL, renditionKey, renditionSetId, renditionSetMarkerKey } from '../../cdn/keys.js';
import { AppError } from '../../lib/errors.js';
import { renderResultSchema, type JobData, type RenderResult } from '../catalogue.js';
import { decodeSource, type DecodeLimits } from '../steps/decode.js';
import { ENCODER_SETTINGS, renderResponsiveSet } from '../steps/responsive-set.js';
import { CONTENT_TYPES } from '../steps/types.js';

export interface RenderDeps {
  storage: ObjectStorage;
  decodeLimits: DecodeLimits;
}

/**
 * The render step: decode its input (the original, or the previous step's output) once, build every width × format, write each rendition under
 * its content-addressed key. Renditions are immutable, so a set already written (its marker
 * exists) is "nothing to do" and returns at once.
 */
export async function processRender(
  data: JobData<'render'>,
  input: { key: string; id: string },
  deps: RenderDeps,
  reportProgress: (percent: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<RenderResult> {
  const setId = renditionSetId({ sourceSha256: input.id, recipe: data.options, encoderVersion: ENCODER_SETTINGS.version });
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
  const result: RenderResult = {
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
