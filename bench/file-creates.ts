/**
 * What creating a file costs in a folder, and how that changes after many files there were
 * deleted: the fs storage driver creates about 16 files per catalog item and frees a few (each
 * overwrite of a manifest or stable URL's metadata frees the old file). On ext4 the inode allocator
 * passes over inodes freed in the last few dozen seconds, looking each one up, so a busy store
 * pays for its own recent overwrites on every new file.
 *
 *   npm run bench:file-creates                      (the system temp folder; TMPDIR picks another)
 *   FREED=5000 CREATES=300 npm run bench:file-creates
 *
 * Prints CPU time per creation (open with O_CREAT|O_EXCL, close; no data, no sync): before the
 * deletes and at several moments after them.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { timeIt } from './timing.js';

const FREED = Number(process.env.FREED ?? 5000);
const CREATES = Number(process.env.CREATES ?? 300);
const AFTER_S = [1, 10, 30, 60, 90, 120];

const dir = fs.mkdtempSync(path.join(tmpdir(), 'bench-file-creates-'));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** CPU ms per creation of `CREATES` new empty files (made directly: no thread-pool hop is timed). */
async function createFiles(tag: string): Promise<number> {
  const { cpuMs } = await timeIt(async () => {
    for (let i = 0; i < CREATES; i++) fs.closeSync(fs.openSync(path.join(dir, `${tag}-${i}`), 'wx'));
  });
  return cpuMs / CREATES;
}

async function main(): Promise<void> {
  for (let i = 0; i < FREED; i++) fs.closeSync(fs.openSync(path.join(dir, `doomed-${i}`), 'wx'));
  // Let the creations above age out of the allocator's window before the baseline.
  await sleep(AFTER_S.at(-1)! * 1000);
  const rows = [`| before the deletes | ${(await createFiles('before')).toFixed(3)} |`];
  const deletedAt = performance.now();
  for (let i = 0; i < FREED; i++) fs.unlinkSync(path.join(dir, `doomed-${i}`));
  for (const s of AFTER_S) {
    await sleep(deletedAt + s * 1000 - performance.now());
    rows.push(`| ${s} s after deleting ${FREED} files | ${(await createFiles(`after-${s}`)).toFixed(3)} |`);
  }
  process.stdout.write(
    `Folder: ${dir}; ${CREATES} empty files created per row.\n\n| when | CPU ms per file created |\n| --- | ---: |\n${rows.join('\n')}\n`,
  );
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
