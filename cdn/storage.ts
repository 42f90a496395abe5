import type { Readable } from 'node:stream';

/** Metadata stored with every object and returned by `head`/`get`. */
export interface ObjectMeta {
  contentType: string;
  cacheControl?: string;
  /** Size in bytes. */
  size: number;
  /** Last write time. */
  lastModified?: Date;
  /** Extra string headers the origin should return (e.g. surrogate keys). */
  metadata?: Record<string, string>;
}

export interface PutOptions {
  contentType: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

export interface StoredObject {
  meta: ObjectMeta;
  body: Readable;
}

/**
 * The one storage interface (ipx's `IPXStorage` shape). Every driver passes
 * `cdn/storage.conformance.ts`. Not-found is `undefined`, never an exception.
 * Writes are atomic: a reader sees the old object, the new one, or nothing — never a partial one.
 */
export interface ObjectStorage {
  readonly name: 'fs' | 's3';
  /** Write an object whole. `body` may be a Buffer or a stream (streams are consumed). */
  put(key: string, body: Buffer | Readable, options: PutOptions): Promise<void>;
  /**
   * Copy an object inside the store, without the bytes passing through this process (S3
   * CopyObject; a hard link on disk). The copy keeps the source's metadata, or takes `options`
   * in its place, and then its `lastModified` is the time of the copy (without, a driver may keep
   * the source's). False when the source is absent. Atomic like `put`: a reader of `to` sees its
   * old object or the whole copy; the source is unchanged.
   */
  copy(from: string, to: string, options?: PutOptions): Promise<boolean>;
  /** Read an object into memory, or `undefined` when absent. */
  get(key: string): Promise<Buffer | undefined>;
  /** Open an object as a stream with its metadata, or `undefined` when absent. */
  getStream(key: string): Promise<StoredObject | undefined>;
  /** Metadata only, or `undefined` when absent. */
  head(key: string): Promise<ObjectMeta | undefined>;
  /** Remove an object; removing an absent one is not an error. */
  delete(key: string): Promise<void>;
  /** Every key under a prefix, in lexicographic order. */
  list(prefix: string): AsyncIterable<string>;
  /** Throws when the storage cannot be reached (used by /readyz). */
  ping(): Promise<void>;
}
