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
