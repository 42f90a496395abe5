import type { Job } from 'bullmq';
import { buildManifest, type AssetManifest } from '../../cdn/manifest.js';
import { aliasKey, aliasPrefixes, channelAliasPrefix, manifestKey, skuAliasPrefix } from '../../cdn/keys.js';
import type { ObjectStorage, PutOptions } from '../../cdn/storage.js';
import type { CdnConfig } from '../../cdn/config.js';
import { mutableCacheControl, mutableSurrogateKeys, purgeKeysFor, surrogateKey, SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';
import { CONTENT_TYPES } from '../../cdn/formats.js';
import type { OnDemandSettings } from '../../cdn/on-demand-manifest.js';
import { AppError, missingObject } from '../../lib/errors.js';
import { readAssetRecord } from '../../records/asset-store.js';
import { renderResultSchema, type PublishJobData } from '../catalogue.js';
import type { PurgeRequestEntry } from '../purge-outbox.js';
import type { RunStore } from '../run-store.js';
import type { TemplateUsage } from '../template-usage.js';
import { takedownAsset } from '../takedown.js';
import { readPublication, recordPublication, releaseSkus, removeOwned, removeStale } from './stable-mirror.js';

export interface PublishDeps {
  storage: ObjectStorage;
  runs: RunStore;
  /** Records the template each asset's published run applied (catalog re-renders look it up). */
  templateUsage: TemplateUsage;
  urlFor: (key: string) => string;
  imgix: CdnConfig['imgix'];
  /**
   * The on-demand endpoint as a tenant's manifest offers it (where `/img/` is reached, its width
   * ladder, the tenant's signing token), or undefined: the manifest then lists pre-rendered URLs only.
   */
  onDemand?: (tenantId: string) => Promise<OnDemandSettings | undefined>;
  /** True when a CDN invalidator is configured: mutable objects may then be cached at the edge. */
  purging: boolean;
  /** Queue a purge of the given keys and URLs; called only after every object is written. */
  requestPurge(purge: PurgeRequestEntry): Promise<void>;
}

const cancelled = () => new AppError('CANCELLED', 'The asset was taken down: this run publishes nothing.');

/**
 * The publish step: write the asset's mutable objects — its manifest and the stable URLs (per
 * asset `latest/`, per channel, per SKU) that merchants paste once — then remove every stable
 * object the new manifest no longer lists (and the asset's objects under a SKU it left), then,
 * and only then, ask the CDN to purge all of them. Renditions are immutable and never purged.
 *
 * Crash-safe: the publication markers naming every SKU the asset may still occupy are written
 * before any public object, and a SKU's goes only after its clean-up; a worker killed anywhere leaves
 * stale objects that the retry (or the next publish) removes, because each pass lists the
 * namespace rather than trusting what it remembers.
 */
export async function processPublish(
  job: Pick<Job, 'getChildrenValues'>,
  data: PublishJobData,
  deps: PublishDeps,
): Promise<{ manifestKey: string; stableUrls: string[] }> {
  // The run record, read once: whether the run was cancelled (taken down) before we wrote
  // anything, and its recipe, whose choices (loading, sizes) the <picture> snippet carries.
  const run = await deps.runs.get(data.tenantId, data.runId);
  if (run?.state === 'cancelled') throw cancelled();
  const childValues = Object.values(await job.getChildrenValues());
  const render = renderResultSchema.parse(childValues[0]);
  const sets = [render, ...(render.channels ?? [])];
  // Independent reads, waited for together: the markers, the asset record, the on-demand settings.
  const [previous, released, onDemand] = await Promise.all([
    readPublication(deps.storage, data.tenantId, data.assetId),
    releasedByAsset(deps, data),
    deps.onDemand?.(data.tenantId),
  ]);
  const targets = data.sku ? [data.sku] : [];
  const left = previous.skus.filter((sku) => sku !== data.sku && released.has(sku));
  // Only the markers not already there (a re-render keeps its SKU, often its sets).
  await recordPublication(deps.storage, data.tenantId, data.assetId, {
    sets: sets.map((s) => s.setId).filter((id) => !previous.sets.includes(id)),
    skus: targets.filter((sku) => !previous.skus.includes(sku)),
  });
  const prefixes = aliasPrefixes(data.tenantId, data.assetId, data.sku);
  const manifest: AssetManifest = buildManifest({
    assetId: data.assetId,
    tenantId: data.tenantId,
    runId: data.runId,
    source: data.source,
    renditions: render.renditions,
    thumbhash: render.thumbhash,
    dominantColor: render.dominantColor,
    urlFor: deps.urlFor,
    // imgix reads the published master of the result (render writes one when imgix is configured).
    ...(deps.imgix && render.master ? { imgix: { ...deps.imgix, masterKey: render.master.key } } : {}),
    // On-demand URLs render from the same master (the original is offered even without one).
    ...(onDemand ? { onDemand: { ...onDemand, master: render.master } } : {}),
    ...(render.template ? { template: render.template } : {}),
    ...(run?.recipe.picture ? { picture: run.recipe.picture } : {}),
    ...(render.channels
      ? {
          channels: render.channels.map((c) => ({
            channel: c.channel,
            width: c.width,
            height: c.height,
            renditions: c.renditions,
            thumbhash: c.thumbhash,
            dominantColor: c.dominantColor,
            latest: deps.urlFor(channelAliasPrefix(prefixes[0]!, c.channel)),
            ...(c.master ? { masterKey: c.master.key } : {}),
          })),
        }
      : {}),
  });
  const mutable = {
    cacheControl: mutableCacheControl(deps.purging),
    metadata: {
      [SURROGATE_KEY_METADATA]: [
        ...mutableSurrogateKeys(data.tenantId, data.assetId, targets),
        ...(render.template ? [surrogateKey.template(data.tenantId, render.template.id)] : []),
      ].join(' '),
    },
  };

  // The single-layout stable URLs (the first channel's, after a generate step), then each
  // channel's under `<prefix><channel>/`.
  const copies: Array<{ prefixes: string[]; renditions: typeof render.renditions }> = [
    { prefixes, renditions: render.renditions },
    ...(render.channels ?? []).map((c) => ({ prefixes: prefixes.map((p) => channelAliasPrefix(p, c.channel)), renditions: c.renditions })),
  ];
  const written: string[] = copies.flatMap((copy) =>
    copy.renditions.flatMap((r) => copy.prefixes.map((p) => aliasKey(p, r.width, r.format))),
  );
  // Copies inside the store (no bytes through this process): first every rendition to its
  // `latest/` URL, all at once, so a store's per-write latency (an fsync, an S3 round trip) is paid
  // about once; then those to the SKU's URLs, as they already carry the metadata (on disk: links only).
  const firstKey = (copy: (typeof copies)[number], r: (typeof render.renditions)[number]) => aliasKey(copy.prefixes[0]!, r.width, r.format);
  await Promise.all(
    copies.flatMap((copy) =>
      copy.renditions.map((r) => copyObject(deps.storage, r.key, firstKey(copy, r), { contentType: CONTENT_TYPES[r.format], ...mutable })),
    ),
  );
  await Promise.all(
    copies.flatMap((copy) =>
      copy.renditions.flatMap((r) =>
        copy.prefixes.slice(1).map((p) => copyObject(deps.storage, firstKey(copy, r), aliasKey(p, r.width, r.format))),
      ),
    ),
  );
  const manifestBody = Buffer.from(JSON.stringify(manifest, null, 2));
  const key = manifestKey(data.tenantId, data.assetId);
  // The manifest goes last: a client that sees it finds every stable URL it lists already in place.
  await deps.storage.put(key, manifestBody, { contentType: 'application/json', ...mutable });
  written.push(key);

  // The namespace now mirrors the manifest exactly: what it no longer lists goes (and is purged).
  const removed = await removeStale(deps.storage, prefixes, new Set(written));
  // A SKU the asset left (moved off it, or another asset took it): its own objects there go.
  for (const sku of left)
    removed.push(...(await removeOwned(deps.storage, skuAliasPrefix(data.tenantId, sku), data.tenantId, data.assetId)));
  await releaseSkus(deps.storage, data.tenantId, data.assetId, left);
  if (await deps.runs.isCancelled(data.runId)) {
    // Taken down while we wrote: remove what we wrote too, whichever finished first.
    await takedownAsset(deps, data.tenantId, data.assetId);
    throw cancelled();
  }

  // Remember the recipe with the template, so a template edit can re-render this asset the same way.
  const recipe = render.template ? run?.recipe : undefined;
  await Promise.all([
    deps.runs.setOutputs(data.runId, { manifestKey: key, manifestUrl: deps.urlFor(key) }),
    deps.templateUsage.record(data.tenantId, data.assetId, render.template && { ...render.template, ...(recipe ? { recipe } : {}) }),
  ]);
  const urls = written.map(deps.urlFor);
  if (deps.purging) {
    await deps.runs.setPurge(data.runId, { state: 'queued', attempts: 0 });
    await deps.requestPurge({
      tenantId: data.tenantId,
      assetId: data.assetId,
      runId: data.runId,
      keys: purgeKeysFor(data.tenantId, data.assetId, [...targets, ...left]),
      urls: [...urls, ...removed.map(deps.urlFor)],
    });
  }
  return { manifestKey: key, stableUrls: urls.filter((u) => !u.endsWith('.json')) };
}

/**
 * SKUs the asset was moved off by an upload naming another one (`releasedSkus` in its record):
 * among those it may still occupy, its objects there are removed. The run's own SKU never is.
 */
async function releasedByAsset(deps: PublishDeps, data: PublishJobData): Promise<Set<string>> {
  const record = await readAssetRecord(deps.storage, data.tenantId, data.assetId);
  return new Set(record?.releasedSkus ?? []);
}

async function copyObject(storage: ObjectStorage, from: string, to: string, options?: PutOptions): Promise<void> {
  if (!(await storage.copy(from, to, options))) throw missingObject(from, options ? 'The rendition' : 'The stable URL');
}
