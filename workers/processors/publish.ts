import type { Job } from 'bullmq';
import { buildManifest, type AssetManifest } from '../../cdn/manifest.js';
import { manifestKey, MUTABLE_CACHE_CONTROL } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import type { CdnConfig } from '../../cdn/config.js';
import { renderResultSchema, type JobData } from '../catalogue.js';
import type { RunStore } from '../run-store.js';

export interface PublishDeps {
  storage: ObjectStorage;
  runs: RunStore;
  urlFor: (key: string) => string;
  imgix: CdnConfig['imgix'];
}

/** The publish step: write the asset's manifest (the mutable document clients read) and record the run's outputs. */
export async function processPublish(job: Job, data: JobData<'publish'>, deps: PublishDeps): Promise<{ manifestKey: string }> {
  const childValues = Object.values(await job.getChildrenValues());
  const render = renderResultSchema.parse(childValues[0]);
  const manifest: AssetManifest = buildManifest({
    assetId: data.assetId,
    tenantId: data.tenantId,
    runId: data.runId,
    source: data.source,
    renditions: render.renditions,
    thumbhash: render.thumbhash,
    dominantColor: render.dominantColor,
    urlFor: deps.urlFor,
    ...(deps.imgix ? { imgix: { ...deps.imgix, originalKey: data.source.key } } : {}),
  });
  const key = manifestKey(data.tenantId, data.assetId);
  await deps.storage.put(key, Buffer.from(JSON.stringify(manifest, null, 2)), {
    contentType: 'application/json',
    cacheControl: MUTABLE_CACHE_CONTROL,
  });
  await deps.runs.setOutputs(data.runId, { manifestKey: key, manifestUrl: deps.urlFor(key) });
  return { manifestKey: key };
}
