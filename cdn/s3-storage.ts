import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import type { ObjectMeta, ObjectStorage, PutOptions, StoredObject } from './storage.js';
import { assertListPrefix, assertMetadata, assertObjectKey, compareKeys, isObjectKey, storageError } from './storage-guard.js';

/** Options of {@link s3Storage}. */
export interface S3StorageOptions {
  bucket: string;
  /**
   * The region requests are signed for. Absent: the SDK's own chain decides (`AWS_REGION`, which
   * ECS, Fargate and Lambda set, then the profile's region), as every AWS tool does; with a custom
   * endpoint and no region anywhere, {@link CUSTOM_ENDPOINT_REGION}.
   */
  region?: string;
  /** Custom endpoint (MinIO, R2, s3rver); AWS when absent. */
  endpoint?: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`; most non-AWS servers need it. */
  forcePathStyle?: boolean;
  /** Static credentials; the SDK's default chain (env, profile, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Milliseconds to open a connection (default 5 000) and of socket inactivity (default 60 000). */
  timeouts?: { connectMs?: number; idleMs?: number };
  /** Tries per request, with the SDK's exponential backoff and jitter between them (default 3). */
  maxAttempts?: number;
  /** A ready client (tests, custom middleware); the connection options above are then ignored. */
  client?: S3Client;
}

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/** An absent object. NoSuchBucket is also a 404 but is a misconfiguration, not "no object". */
function isNotFound(err: unknown): boolean {
  const e = err as SdkError | undefined;
  if (!e || e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/**
 * The region a custom endpoint (MinIO, s3rver, R2) is signed for when neither S3_REGION nor the
 * SDK's chain names one: those servers accept us-east-1, the SDK would refuse every request
 * ("Region is missing"), and a local setup with only S3_ENDPOINT worked before the chain was used.
 */
export const CUSTOM_ENDPOINT_REGION = 'us-east-1';

/**
 * Part size of a multipart put, S3's minimum (5 MiB). lib-storage holds the part being filled
 * plus {@link PARTS_IN_FLIGHT} being sent, so a streamed put holds about 15 MiB whatever its size,
 * where reading it whole held all of it (every 50 MiB upload in flight sat in memory).
 * Bodies up to one part go as one PutObject. 10 000 parts make the largest object 48.8 GiB.
 */
const PART_BYTES = 5 * 1024 * 1024;
/** The largest object one CopyObject request copies. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
/** Parts of one put sent at once: enough to keep a connection busy while the next part fills. */
const PARTS_IN_FLIGHT = 2;

/** `options.region`, or the SDK's chain, falling back to {@link CUSTOM_ENDPOINT_REGION} on a custom endpoint. */
function regionOf(options: S3StorageOptions): S3Client['config']['region'] | string | undefined {
  if (options.region) return options.region;
  // On AWS itself a missing region must stay an error: a guessed one fails with a redirect anyway.
  if (!options.endpoint) return undefined;
  // A client built without a region carries the SDK's chain as its provider; it reads the
  // environment and profile on each call and holds no connection.
  const probe = new S3Client({});
  const chain = probe.config.region;
  probe.destroy();
  return () => chain().catch(() => CUSTOM_ENDPOINT_REGION);
}

/**
 * Object storage on S3 or an S3-compatible server. PutObject and a completed multipart upload
 * replace an object atomically, so readers never see a partial one. Not-found is `undefined`;
 * every other failure (network, throttling, permissions, a missing bucket, no region) is an
 * AppError 503 STORAGE_ERROR carrying the SDK error as `cause` for logs, so jobs retry it with
 * backoff and clients never see SDK internals.
 */
export function s3Storage(options: S3StorageOptions): ObjectStorage {
  const { bucket } = options;
  const region = regionOf(options);
  const client =
    options.client ??
    new S3Client({
      ...(region ? { region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // The SDK's default (checksums on every request and response) breaks on servers that do not
      // implement flexible checksums, s3rver and older MinIO among them; AWS needs them only where
      // an operation requires one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.maxAttempts ?? 3,
      // Without timeouts a half-open connection would hang a worker until its job lock expires.
      // The idle limit is the socket timeout: the SDK's `requestTimeout` only logs a warning unless
      // `throwOnRequestTimeout` is set, and it caps whole transfers, which large objects may exceed.
      requestHandler: {
        connectionTimeout: options.timeouts?.connectMs ?? 5_000,
        socketTimeout: options.timeouts?.idleMs ?? 60_000,
      },
    });

  const toMeta = (r: {
    ContentType?: string;
    CacheControl?: string;
    ContentLength?: number;
    LastModified?: Date;
    Metadata?: Record<string, string>;
  }): ObjectMeta => ({
    contentType: r.ContentType ?? 'application/octet-stream',
    ...(r.CacheControl ? { cacheControl: r.CacheControl } : {}),
    size: r.ContentLength ?? 0,
    ...(r.LastModified ? { lastModified: r.LastModified } : {}),
    ...(r.Metadata && Object.keys(r.Metadata).length > 0 ? { metadata: { ...r.Metadata } } : {}),
  });

  async function getObject(key: string) {
    assertObjectKey(key);
    try {
      return await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storageError('get', err);
    }
  }

  /** True when CopyObject refused `from` for its size (S3 copies at most 5 GiB in one request). */
  async function tooLargeToCopy(err: unknown, from: string): Promise<boolean> {
    if ((err as SdkError | undefined)?.name !== 'InvalidRequest') return false;
    return ((await headObject(from))?.size ?? 0) > MAX_COPY_BYTES;
  }

  async function headObject(key: string): Promise<ObjectMeta | undefined> {
    assertObjectKey(key);
    try {
      return toMeta(await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storageError('head', err);
    }
  }

  const storage: ObjectStorage = {
    name: 's3',

    async put(key: string, body: Buffer | Readable, opts: PutOptions): Promise<void> {
      assertObjectKey(key);
      assertMetadata(opts.metadata);
      // A failing body (aborted upload, size limit) is the caller's error, not ours: noted here and
      // rethrown as it is. lib-storage has then aborted a multipart upload, so nothing is stored.
      let bodyError: unknown;
      if (!Buffer.isBuffer(body)) body.once('error', (err) => (bodyError = err));
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: opts.contentType,
          ...(opts.cacheControl !== undefined ? { CacheControl: opts.cacheControl } : {}),
          ...(opts.metadata ? { Metadata: opts.metadata } : {}),
        },
        partSize: PART_BYTES,
        queueSize: PARTS_IN_FLIGHT,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (err) {
        if (bodyError !== undefined) throw bodyError;
        // Streams are consumed by put; one the bucket refused would otherwise hold its file open.
        if (!Buffer.isBuffer(body)) body.destroy();
        throw storageError('put', err);
      }
    },

    async copy(from: string, to: string, opts?: PutOptions): Promise<boolean> {
      assertObjectKey(from);
      assertObjectKey(to);
      if (opts) assertMetadata(opts.metadata);
      // S3 refuses to copy an object onto itself unchanged; there is nothing to do.
      if (from === to && !opts) return (await headObject(from)) !== undefined;
      try {
        await client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: to,
            // The source is URL-encoded (S3 decodes it); segment by segment, so its slashes stay.
            CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
            ...(opts
              ? {
                  MetadataDirective: 'REPLACE',
                  ContentType: opts.contentType,
                  ...(opts.cacheControl !== undefined ? { CacheControl: opts.cacheControl } : {}),
                  ...(opts.metadata ? { Metadata: opts.metadata } : {}),
                }
              : { MetadataDirective: 'COPY' }),
          }),
        );
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        if (!(await tooLargeToCopy(err, from))) throw storageError('copy', err);
      }
      // Bigger than one CopyObject may copy (an oversized file dropped in an inbox): streamed
      // through this process, as a multipart upload.
      const object = await storage.getStream(from);
      if (!object) return false;
      const { contentType, cacheControl, metadata } = object.meta;
      await storage.put(
        to,
        object.body,
        opts ?? { contentType, ...(cacheControl ? { cacheControl } : {}), ...(metadata ? { metadata } : {}) },
      );
      return true;
    },

    async get(key: string): Promise<Buffer | undefined> {
      const res = await getObject(key);
      if (!res?.Body) return undefined;
      try {
        const bytes = await res.Body.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (err) {
        throw storageError('get', err);
      }
    },

    async getStream(key: string): Promise<StoredObject | undefined> {
      const res = await getObject(key);
      if (!res?.Body) return undefined;
      // In Node the SDK's body is an http.IncomingMessage, i.e. a Readable.
      const body = res.Body instanceof Readable ? res.Body : Readable.fromWeb(res.Body.transformToWebStream() as never);
      return { meta: toMeta(res), body };
    },

    head: headObject,

    async delete(key: string): Promise<void> {
      assertObjectKey(key);
      try {
        // S3 answers 204 for an absent key too, so delete is idempotent without a HEAD first.
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if (isNotFound(err)) return;
        throw storageError('delete', err);
      }
    },

    async *list(prefix: string): AsyncIterable<string> {
      assertListPrefix(prefix);
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
          );
        } catch (err) {
          throw storageError('list', err);
        }
        // S3 already lists in UTF-8 byte order, so this sort is a no-op there; s3rver walks its
        // directory in readdir order, and sorting the page fixes it (for prefixes under 1000 keys).
        // Keys other tools wrote that our rules refuse ("dir/" markers, "..") are skipped, so
        // every listed key can be read back.
        const keys = (page.Contents ?? [])
          .map((o) => o.Key)
          .filter((k): k is string => typeof k === 'string' && isObjectKey(k))
          .sort(compareKeys);
        yield* keys;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async ping(): Promise<void> {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch (err) {
        throw storageError('ping', err);
      }
    },
  };
  return storage;
}
