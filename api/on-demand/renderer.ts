import { canonicalJson, sha256Hex } from '../../lib/canonical-json.js';
import { chooseFormat, type OnDemandFormat, type OnDemandParams } from '../../cdn/imgix-params.js';
import { onDemandKey } from '../../cdn/on-demand-url.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';
import { AppError } from '../../lib/errors.js';
import { ENCODER_SETTINGS } from '../../workers/steps/responsive-set.js';
import {
  inspectSource,
  prepareSource,
  transformImage,
  transformMemoryBytes,
  type TransformLimits,
} from '../../workers/on-demand/transform.js';
import { UploadCheckPool, type UploadCheckLimits } from '../upload-checks.js';
import type { ResolvedSource } from './resolve-source.js';

export const ON_DEMAND_CONTENT_TYPES: Record<OnDemandFormat, string> = {
  avif: 'image/avif',
  webp: 'image/webp',
  jpg: 'image/jpeg',
  png: 'image/png',
};

/** How long a provisional answer may be kept, by browsers and CDNs alike: then the final bytes are fetched. */
export const PROVISIONAL_CACHE_CONTROL = 'public, max-age=60';

/** A provisional answer's ETag: weak (the same image, not the same bytes), never equal to the final one's. */
export const provisionalEtag = (etag: string): string => `W/${etag.slice(0, -1)}.provisional"`;

/** Bumped when the transform or its encoder settings change output: old cached transforms are then never read. */
const TRANSFORM_VERSION = 1;

/** One answer of the renderer: the bytes, their type, and how they were obtained. */
export interface RenderedTransform {
  body: Buffer | NodeJS.ReadableStream;
  contentType: string;
  size: number;
  /** `hit`: read from storage; `miss`: computed by this request; `coalesced`: computed by a concurrent one. */
  cache: 'hit' | 'miss' | 'coalesced';
  /** A cheap first encode: the final bytes are being made behind it (see {@link OnDemandRenderer}). */
  provisional: boolean;
}

/** What a computation answers with; `final` makes the bytes to store when `data` is provisional. */
interface Made {
  data: Buffer;
  contentType: string;
  final?: () => Promise<Buffer>;
}

/**
 * Computes each transform once per (source version, normalised parameters, negotiated format),
 * stores it content-addressed next to its source (`onDemandKey`), and serves it from there after.
 * Concurrent identical requests share one computation (a per-process map of promises). The work
 * runs in a pool of its own, the upload checks' kind: a few at once within a memory budget
 * estimated from each source's header, a bounded queue, and 503 + Retry-After past it.
 *
 * A first request for a WebP, while a pool slot is free and none waits, is answered with a cheaper
 * encode of the same pixels (libwebp method 2: about half the encode time, a few % more bytes),
 * marked provisional; the final encode (method 4) is made behind it, through the pool, and stored,
 * and every later request gets it. Under load there is no spare CPU for the second encode, so a
 * request that finds no free slot in the pool is encoded once, finally.
 */
export class OnDemandRenderer {
  private readonly inflight = new Map<string, { made: Promise<Made>; done: Promise<void> }>();
  private readonly pool: UploadCheckPool;

  constructor(
    private readonly storage: ObjectStorage,
    private readonly limits: TransformLimits,
    poolLimits: UploadCheckLimits,
    private readonly onStoreError: (err: unknown) => void = () => undefined,
    /** ON_DEMAND_PROVISIONAL: false encodes every transform once, finally. */
    private readonly provisionalAllowed = true,
  ) {
    this.pool = new UploadCheckPool(poolLimits);
  }

  /** Transforms running and waiting now (for tests and /metrics). */
  load() {
    return { ...this.pool.load(), inflight: this.inflight.size };
  }

  /**
   * Where the transform of `source` by `params` for a client sending `accept` is stored, and its
   * ETag (the same bytes for the same key). Known without reading the source: the format is asked
   * as if the source had alpha, so `png` can only mean "the source's fallback", fixed per version.
   */
  locate(source: ResolvedSource, tenantId: string, params: OnDemandParams, accept: string | undefined): { key: string; etag: string } {
    const asked = chooseFormat(params, accept, true).format;
    const negotiated = params.fm ?? (asked === 'png' ? 'fallback' : asked);
    const hash = sha256Hex(
      canonicalJson({ v: TRANSFORM_VERSION, encoder: ENCODER_SETTINGS.version, source: source.version, params, format: negotiated }),
    );
    return { key: onDemandKey(tenantId, source.owner, hash), etag: `"${hash}"` };
  }

  /**
   * The transform at `key` (from {@link locate}): read from storage, shared with a computation
   * under way, or computed now. A computed one is answered at once and stored behind the answer;
   * until it is stored, identical requests share the one in memory.
   */
  async render(
    key: string,
    source: ResolvedSource,
    params: OnDemandParams,
    accept: string | undefined,
    surrogateKeys: readonly string[],
  ): Promise<RenderedTransform> {
    const shared = async (running: { made: Promise<Made> }): Promise<RenderedTransform> => {
      const m = await running.made;
      return { body: m.data, contentType: m.contentType, size: m.data.length, cache: 'coalesced', provisional: m.final !== undefined };
    };
    const running = this.inflight.get(key);
    if (running) return shared(running);
    const stored = await this.storage.getStream(key);
    if (stored)
      return { body: stored.body, contentType: stored.meta.contentType, size: stored.meta.size, cache: 'hit', provisional: false };
    // Looked again: another request may have started it while this one read storage.
    const started = this.inflight.get(key);
    if (started) return shared(started);
    const made = this.compute(source, params, accept);
    const done = made
      .then(
        (m) => this.store(key, m, surrogateKeys),
        () => undefined,
      )
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, { made, done });
    const m = await made;
    return { body: m.data, contentType: m.contentType, size: m.data.length, cache: 'miss', provisional: m.final !== undefined };
  }

  /** Resolves once every transform computed so far is stored (or failed to be). */
  async flush(): Promise<void> {
    await Promise.all([...this.inflight.values()].map((f) => f.done));
  }

  private async store(key: string, made: Made, surrogateKeys: readonly string[]): Promise<void> {
    try {
      const data = made.final ? await made.final() : made.data;
      await this.storage.put(key, data, {
        contentType: made.contentType,
        cacheControl: 'private, no-store',
        metadata: { [SURROGATE_KEY_METADATA]: surrogateKeys.join(' ') },
      });
    } catch (err) {
      // The answer went out; the next request computes it again.
      this.onStoreError(err);
    }
  }

  private async compute(source: ResolvedSource, params: OnDemandParams, accept: string | undefined): Promise<Made> {
    const bytes = await this.storage.get(source.key);
    if (!bytes)
      throw new AppError('NOT_FOUND', 'The source of this URL is not stored (a set rendered before masters were kept: render it again).');
    const prepared = await prepareSource(bytes, this.limits);
    const info = await inspectSource(prepared, this.limits);
    const { format } = chooseFormat(params, accept, info.hasAlpha);
    const memory = transformMemoryBytes(info, params);
    const provisional = this.provisionalAllowed && this.pool.load().idle;
    const out = await this.admit(memory, () => transformImage(prepared, info, params, format, this.limits, { provisional }));
    const final = out.final;
    return { data: out.data, contentType: ON_DEMAND_CONTENT_TYPES[format], ...(final ? { final: () => this.admit(memory, final) } : {}) };
  }

  private async admit<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    try {
      return await this.pool.run(bytes, work);
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'BAD_REQUEST' || err.code === 'CORRUPT_IMAGE') throw err;
      if (err.code === 'SERVICE_UNAVAILABLE') {
        throw new AppError('SERVICE_UNAVAILABLE', 'Too many on-demand transforms are waiting here: retry shortly.', err.details);
      }
      if (err.code === 'IMAGE_TOO_LARGE' && err.details && 'maxDecodeBytes' in err.details) {
        throw new AppError('IMAGE_TOO_LARGE', 'This transform would need more memory than ON_DEMAND_MEMORY_MB allows.', {
          estimatedBytes: bytes,
        });
      }
      throw err;
    }
  }
}
