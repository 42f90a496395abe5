import { randomUUID } from 'node:crypto';
import fs, { constants as fsc, type Dirent, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { AppError } from '../lib/errors.js';
import type { ObjectMeta, ObjectStorage, PutOptions, StoredObject } from './storage.js';
import { assertListPrefix, assertMetadata, assertObjectKey, compareKeys, isObjectKey, storageError } from './storage-guard.js';

/** Options of {@link fsStorage}. */
export interface FsStorageOptions {
  /** Directory that holds every object; created on first write. */
  root: string;
}

/** What the sidecar file holds. Size comes from the data file itself, so it never disagrees with the body. */
interface Sidecar {
  contentType: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

/** Where sidecars live: a dot-directory, which `list` skips and keys cannot name (see storage-guard). */
const META_DIR = '.meta';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/**
 * Why a filesystem may refuse a hard link that a copy of the bytes would survive: too many links to
 * one file (ext4: 65,000), or a filesystem without links (some network and FUSE mounts).
 */
const LINK_REFUSED = new Set(['EMLINK', 'EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
// Longest single path segment we accept: NAME_MAX is 255 bytes and the sidecar adds ".json".
const MAX_SEGMENT_BYTES = 250;
/**
 * Bytes written or read with blocking calls at most: a copy to or from the page cache, tens of
 * microseconds. Bigger bodies go through the thread pool.
 */
const DIRECT_IO_BYTES = 256 * 1024;

const fdatasync = promisify(fs.fdatasync);
const writeAt = promisify(fs.write);
const readAt = promisify(fs.read);
/**
 * One turn of the event loop. An operation made only of direct calls awaits this first, so it
 * still lets timers and I/O run, as a thread-pool call did: a caller polling `get` in a loop (for
 * a key another write is about to create) must not starve that write.
 */
const loopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Marks a failure of the caller's body stream (an aborted upload, a size limit), rethrown as is. */
class BodyError {
  constructor(readonly cause: unknown) {}
}

/** Write all of `bytes` at the descriptor's position: directly when small, else through the thread pool. */
async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  const direct = bytes.length <= DIRECT_IO_BYTES;
  for (let done = 0; done < bytes.length;) {
    const rest = bytes.subarray(done);
    done += direct ? fs.writeSync(fd, rest) : (await writeAt(fd, rest)).bytesWritten;
  }
}

/** Read a whole file of `size` bytes from its descriptor: directly when small, else through the thread pool. */
async function readAll(fd: number, size: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(size);
  const direct = size <= DIRECT_IO_BYTES;
  let done = 0;
  while (done < size) {
    const n = direct ? fs.readSync(fd, bytes, done, size - done, done) : (await readAt(fd, bytes, done, size - done, done)).bytesRead;
    if (n === 0) break; // a file is never written in place, so it cannot shrink; never spin if it did
    done += n;
  }
  return done === size ? bytes : bytes.subarray(0, done);
}

/** Clean-up after a failure: the first error is the one to report, not one from tidying up. */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* see above */
  }
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    /* see closeQuietly */
  }
}

const isMissing = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
};

/**
 * Object storage on a local directory (ipx's `ipxFSStorage` shape), for development and single
 * machine installs. Objects are plain files at `<root>/<key>`; their metadata sits in
 * `<root>/.meta/<key>.json`.
 *
 * Writes go to a temp file in the destination directory, are fdatasynced, then renamed over the
 * key, so readers see the old object or the new one, never a partial one, and a crash cannot leave
 * a key naming unwritten bytes. The sidecar is renamed into place first, so a key whose data file
 * exists always has its metadata. The renames themselves are not synced: a put that returned just
 * before a power cut may be lost whole (the key keeps its previous object, or none) until the
 * filesystem commits its journal (ext4: within 5 s); a journaling filesystem commits renames in
 * order, so a manifest written after its stable URLs is never there without them. A copy is a hard
 * link of the data file (a plain copy where the filesystem refuses one) with a linked or new
 * sidecar, renamed into place like a put; files are never written in place, so the names sharing a
 * file cannot see each other's later writes. Puts to one key are
 * serialised inside this process so data and sidecar cannot end up from different writers; two
 * *processes* overwriting one key with different metadata could still pair them wrongly (bodies
 * stay whole). Content-addressed keys are immune, as every writer writes the same thing.
 *
 * Unlike S3, a key cannot also be a "directory" of other keys (`a/b` and `a/b/c`); such a put is
 * refused with 400. The key scheme in `keys.ts` never produces that.
 *
 * Metadata calls (open, link, rename, unlink, stat, close) and reads and writes up to
 * {@link DIRECT_IO_BYTES} are made directly, not through libuv's thread pool; only syncs, bigger
 * transfers and directory listings are. On a local disk those calls take microseconds, while each
 * hop to the pool and back cost 40-50 µs of CPU on the 2-core VMs measured (a put was 10 hops:
 * 0.22 ms of CPU on tmpfs, 0.02 ms made directly); a catalog item makes about 20 of them. The
 * price is that a stalled filesystem stalls the process: keep DATA_DIR on a local disk (shared or
 * network storage is what the S3 driver is for).
 */
export function fsStorage(options: FsStorageOptions): ObjectStorage {
  const root = path.resolve(options.root);
  const locks = new Map<string, Promise<void>>();

  function pathsFor(key: string): { data: string; meta: string } {
    assertObjectKey(key);
    const segments = key.split('/');
    if (segments.some((s) => Buffer.byteLength(s, 'utf8') > MAX_SEGMENT_BYTES)) {
      throw new AppError('BAD_REQUEST', `object key segments may be at most ${MAX_SEGMENT_BYTES} bytes`);
    }
    const data = path.join(root, ...segments);
    const meta = path.join(root, META_DIR, ...segments) + '.json';
    // Defence in depth: assertObjectKey already rules out anything that could leave the root.
    if (!data.startsWith(root + path.sep)) throw new AppError('BAD_REQUEST', 'object key escapes the root');
    return { data, meta };
  }

  /** Serialise `fn` with every other locked section for the same key in this process. */
  async function withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    locks.set(key, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(key) === mine) locks.delete(key);
    }
  }

  /** The sidecar and when it was written (undefined for a file dropped in by hand, which has none). */
  function readSidecar(metaPath: string): { sidecar: Sidecar; written?: Date } {
    try {
      const text = fs.readFileSync(metaPath, 'utf8');
      const stat = fs.statSync(metaPath);
      const parsed = (JSON.parse(text) ?? {}) as Partial<Sidecar>;
      const sidecar = {
        contentType: typeof parsed.contentType === 'string' ? parsed.contentType : DEFAULT_CONTENT_TYPE,
        cacheControl: typeof parsed.cacheControl === 'string' ? parsed.cacheControl : undefined,
        metadata: parsed.metadata && typeof parsed.metadata === 'object' ? parsed.metadata : undefined,
      };
      return { sidecar, written: stat.mtime };
    } catch (err) {
      // A file dropped into the root by hand has no sidecar; serve it as opaque bytes.
      if (isMissing(err) || err instanceof SyntaxError) return { sidecar: { contentType: DEFAULT_CONTENT_TYPE } };
      throw err;
    }
  }

  /**
   * An object's metadata. Its time is the later of its data file's and its sidecar's: a copy with
   * new metadata links the source's data file (keeping the source's time) beside a new sidecar, and
   * a stable URL re-published with older bytes must still move its Last-Modified forward.
   */
  function toMeta({ sidecar, written }: { sidecar: Sidecar; written?: Date }, stat: { size: number; mtime: Date }): ObjectMeta {
    return {
      contentType: sidecar.contentType,
      ...(sidecar.cacheControl !== undefined ? { cacheControl: sidecar.cacheControl } : {}),
      size: stat.size,
      lastModified: written && written > stat.mtime ? written : stat.mtime,
      ...(sidecar.metadata ? { metadata: { ...sidecar.metadata } } : {}),
    };
  }

  function sidecarOf(opts: PutOptions): Sidecar {
    assertMetadata(opts.metadata);
    return {
      contentType: opts.contentType,
      ...(opts.cacheControl !== undefined ? { cacheControl: opts.cacheControl } : {}),
      ...(opts.metadata ? { metadata: { ...opts.metadata } } : {}),
    };
  }

  /**
   * Create a temp file next to `target`. The directory is made only when the open finds it
   * missing: keys share few directories, and a `mkdir -p` on every put cost as much as a write.
   */
  function openTemp(target: string): { tmp: string; fd: number } {
    const dir = path.dirname(target);
    const tmp = path.join(dir, `.tmp-${randomUUID()}`);
    const create = () => fs.openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
    try {
      return { tmp, fd: create() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fs.mkdirSync(dir, { recursive: true });
      return { tmp, fd: create() };
    }
  }

  /** Write `body` to a fresh temp file next to `target`, its data on disk before this returns; returns the temp path. */
  async function writeTemp(target: string, body: Buffer | Readable | string): Promise<string> {
    let tmp: string | undefined;
    let fd: number | undefined;
    try {
      ({ tmp, fd } = openTemp(target));
      let written = 0;
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const bytes = typeof body === 'string' ? Buffer.from(body) : body;
        await writeAll(fd, bytes);
        written = bytes.length;
      } else {
        // Awaiting each write gives back-pressure without buffering the whole stream.
        const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
        for (;;) {
          let next: IteratorResult<Uint8Array | string>;
          try {
            next = await chunks.next();
          } catch (err) {
            throw new BodyError(err);
          }
          if (next.done) break;
          const bytes = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
          await writeAll(fd, bytes);
          written += bytes.length;
        }
      }
      // Without this a crash after the rename can leave an empty file under the key. fdatasync,
      // not fsync: it flushes the bytes and the size (what reading them back needs), not the times.
      // An empty file (a publication marker) has nothing to flush: its creation is journaled.
      if (written > 0) await fdatasync(fd);
      fs.closeSync(fd);
      fd = undefined;
      return tmp;
    } catch (err) {
      // Stop a body stream we gave up on, so its producer is not left waiting.
      if (typeof body !== 'string' && !Buffer.isBuffer(body)) body.destroy();
      if (fd !== undefined) closeQuietly(fd);
      if (tmp) removeQuietly(tmp);
      throw err;
    }
  }

  const isFile = (file: string) => {
    try {
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };

  /**
   * A new name for `source`'s file next to `target` (a hard link: no bytes written, nothing to
   * sync), or `undefined` when the source is absent. Where the filesystem refuses a link
   * ({@link LINK_REFUSED}) the bytes are copied instead.
   */
  async function linkTemp(source: string, target: string): Promise<string | undefined> {
    const tmp = path.join(path.dirname(target), `.tmp-${randomUUID()}`);
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(source, tmp);
        return tmp;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt === 0) {
          // The target's directory may not exist yet (a file in its way fails here: a key clash).
          fs.mkdirSync(path.dirname(target), { recursive: true });
          continue;
        }
        // No source is "absent"; a missing path on the target's side is the error it is.
        if (isMissing(err) && !isFile(source)) return undefined;
        if (!LINK_REFUSED.has(code ?? '')) throw err;
        let bytes: Buffer;
        try {
          bytes = await fsp.readFile(source);
        } catch (readErr) {
          if (isMissing(readErr)) return undefined;
          throw readErr;
        }
        return writeTemp(target, bytes);
      }
    }
  }

  /**
   * Make a write visible: its temp files renamed over the key's, the sidecar first (a key whose
   * data file exists always has its metadata), serialised with every other write of the key here.
   */
  async function moveIntoPlace(key: string, paths: { data: string; meta: string }, temps: { data: string; meta: string }): Promise<void> {
    await withKeyLock(key, async () => {
      fs.renameSync(temps.meta, paths.meta);
      fs.renameSync(temps.data, paths.data);
    });
  }

  /** Map filesystem failures: a key/directory clash is the caller's fault, the rest is retryable. */
  function wrap(operation: string, err: unknown): unknown {
    if (err instanceof BodyError) return err.cause;
    if (err instanceof AppError) return err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
      return new AppError('BAD_REQUEST', 'object key clashes with another key used as a directory');
    }
    return storageError(operation, err);
  }

  async function openObject(key: string): Promise<{ fh: FileHandle; meta: ObjectMeta } | undefined> {
    const { data, meta } = pathsFor(key);
    let fh: FileHandle | undefined;
    try {
      // Holding the descriptor pins this version: a concurrent rename cannot change what we read.
      fh = await fsp.open(data, 'r');
      const stat = await fh.stat();
      if (!stat.isFile()) {
        await fh.close();
        return undefined;
      }
      return { fh, meta: toMeta(readSidecar(meta), stat) };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      if (isMissing(err)) return undefined;
      throw storageError('get', err);
    }
  }

  function unlinkIfPresent(file: string): void {
    try {
      fs.unlinkSync(file);
    } catch (err) {
      // A directory where the key would be (EISDIR) is "no such object" too.
      if (!isMissing(err)) throw err;
    }
  }

  async function* walk(dir: string, keyPrefix: string, namePrefix: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw storageError('list', err);
    }
    // Sorting directories as "name/" makes a depth-first walk emit keys in full-key byte order.
    const sorted = entries
      .filter((e) => !e.name.startsWith('.') && e.name.startsWith(namePrefix) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { e } of sorted) {
      const key = keyPrefix + e.name;
      if (e.isDirectory()) yield* walk(path.join(dir, e.name), `${key}/`, '');
      // Files dropped in by hand with names our keys cannot have are not objects.
      else if (isObjectKey(key)) yield key;
    }
  }

  return {
    name: 'fs',

    async put(key: string, body: Buffer | Readable, opts: PutOptions): Promise<void> {
      const paths = pathsFor(key);
      const sidecar = sidecarOf(opts);
      let dataTmp: string | undefined;
      let metaTmp: string | undefined;
      try {
        // The slow part (consuming the body, the two syncs) runs outside the lock, both files at
        // once so their syncs overlap; only the renames are serialised.
        const [d, m] = await Promise.allSettled([writeTemp(paths.data, body), writeTemp(paths.meta, JSON.stringify(sidecar))]);
        if (d.status === 'fulfilled') dataTmp = d.value;
        if (m.status === 'fulfilled') metaTmp = m.value;
        if (d.status === 'rejected') throw d.reason;
        if (m.status === 'rejected') throw m.reason;
        await moveIntoPlace(key, paths, { data: d.value, meta: m.value });
        dataTmp = metaTmp = undefined;
      } catch (err) {
        throw wrap('put', err);
      } finally {
        for (const tmp of [dataTmp, metaTmp]) if (tmp) removeQuietly(tmp);
      }
    },

    async copy(from: string, to: string, opts?: PutOptions): Promise<boolean> {
      const source = pathsFor(from);
      const target = pathsFor(to);
      const sidecar = opts && sidecarOf(opts);
      await loopTurn();
      let dataTmp: string | undefined;
      let metaTmp: string | undefined;
      try {
        // Both names taken under the source's lock, so a put to it cannot pair its new data
        // with the old sidecar in our copy.
        await withKeyLock(from, async () => {
          dataTmp = await linkTemp(source.data, target.data);
          if (dataTmp && !sidecar) metaTmp = await linkTemp(source.meta, target.meta);
        });
        if (!dataTmp) return false;
        // A given sidecar, or one saying what a file without any is read as (dropped in by hand).
        metaTmp ??= await writeTemp(target.meta, JSON.stringify(sidecar ?? { contentType: DEFAULT_CONTENT_TYPE }));
        await moveIntoPlace(to, target, { data: dataTmp, meta: metaTmp });
        dataTmp = metaTmp = undefined;
        return true;
      } catch (err) {
        throw wrap('copy', err);
      } finally {
        for (const tmp of [dataTmp, metaTmp]) if (tmp) removeQuietly(tmp);
      }
    },

    async get(key: string): Promise<Buffer | undefined> {
      // The bytes only: the sidecar is not read (a third of a small object's syscalls). Holding
      // the descriptor pins this version: a concurrent rename cannot change what is read.
      const { data } = pathsFor(key);
      await loopTurn();
      try {
        const fd = fs.openSync(data, 'r');
        try {
          const stat = fs.fstatSync(fd);
          if (!stat.isFile()) return undefined;
          return await readAll(fd, stat.size);
        } finally {
          fs.closeSync(fd);
        }
      } catch (err) {
        // A directory where the key would be reads as EISDIR: no such object.
        if (isMissing(err)) return undefined;
        throw storageError('get', err);
      }
    },

    async getStream(key: string): Promise<StoredObject | undefined> {
      const opened = await openObject(key);
      if (!opened) return undefined;
      // autoClose (the default) closes the descriptor when the stream ends or is destroyed.
      return { meta: opened.meta, body: opened.fh.createReadStream() };
    },

    async head(key: string): Promise<ObjectMeta | undefined> {
      const { data, meta } = pathsFor(key);
      await loopTurn();
      try {
        const stat = fs.statSync(data);
        if (!stat.isFile()) return undefined;
        return toMeta(readSidecar(meta), stat);
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw storageError('head', err);
      }
    },

    async delete(key: string): Promise<void> {
      const { data, meta } = pathsFor(key);
      await loopTurn();
      try {
        // Data first: a key whose data file exists must still have its sidecar.
        // Empty directories are left behind on purpose: removing them races with a concurrent
        // put that has just created one, and they never show up in `list`.
        await withKeyLock(key, async () => {
          unlinkIfPresent(data);
          unlinkIfPresent(meta);
        });
      } catch (err) {
        throw storageError('delete', err);
      }
    },

    async *list(prefix: string): AsyncIterable<string> {
      assertListPrefix(prefix);
      const cut = prefix.lastIndexOf('/') + 1;
      const dirPart = prefix.slice(0, cut);
      const dir = path.join(root, ...dirPart.split('/').filter(Boolean));
      yield* walk(dir, dirPart, prefix.slice(cut));
    },

    async ping(): Promise<void> {
      const probe = path.join(root, `.ping-${randomUUID()}`);
      try {
        await fsp.mkdir(root, { recursive: true });
        await fsp.writeFile(probe, 'ok');
        await fsp.rm(probe, { force: true });
      } catch (err) {
        throw storageError('ping', err);
      }
    },
  };
}
