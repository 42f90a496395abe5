/**
 * The peer of the background-removal benchmark, `@imgly/background-removal-node`: installed outside
 * the repo on first use and loaded from there (its code is AGPL: never installed into this repo,
 * never imported by product code).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const PEER = '@imgly/background-removal-node';
export const PEER_VERSION = '1.4.5';

type PeerRemove = (image: unknown, config: Record<string, unknown>) => Promise<Blob>;
type NdArrayFactory = (data: Uint8Array, shape: number[]) => unknown;

export interface Peer {
  /** The peer's cut-out of `input` (from `toInput`) with its `model`, as RGBA bytes. */
  remove(input: unknown, model: 'small' | 'medium'): Promise<Uint8Array>;
  /** RGBA pixels in the form the peer takes decoded input (an ndarray), built outside any timing. */
  toInput(rgba: Uint8Array, width: number, height: number): unknown;
  /** Package versions, for the report. */
  versions: string;
}

/**
 * Install the peer into `dir`. Two settings make it install on machines that cannot reach GitHub:
 * onnxruntime-node 1.17's postinstall would fetch CUDA binaries from GitHub (skipped: CPU only, as
 * for us), and sharp 0.32 fetches libvips from GitHub, so sharp is overridden to the 0.35.5 we use
 * (prebuilt on npm; the peer only calls its stable API, and a newer libvips is no handicap).
 */
function installPeer(dir: string): void {
  if (existsSync(join(dir, 'node_modules', PEER, 'package.json'))) return;
  console.error(`installing ${PEER}@${PEER_VERSION} into ${dir} (outside the repo)…`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bg-removal-peer', private: true, overrides: { sharp: '0.35.5' } }));
  writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install-cuda=skip\nonnxruntime-node-install=skip\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', `${PEER}@${PEER_VERSION}`], { cwd: dir, stdio: 'inherit' });
}

/** Install (once) and load the peer from `dir`. */
export async function loadPeer(dir: string): Promise<Peer> {
  installPeer(dir);
  const pkgDir = join(dir, 'node_modules', PEER);
  const main = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { exports: { '.': { import: string } } };
  const mod = (await import(pathToFileURL(join(pkgDir, main.exports['.'].import)).href)) as { removeBackground: PeerRemove };
  const nd = (await import(pathToFileURL(join(dir, 'node_modules', 'ndarray', 'ndarray.js')).href)) as { default: NdArrayFactory };
  const version = async (name: string) =>
    (JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  const publicPath = pathToFileURL(join(pkgDir, 'dist')).href + '/';
  return {
    remove: async (input, model) =>
      new Uint8Array(await (await mod.removeBackground(input, { publicPath, model, output: { format: 'image/x-rgba8' } })).arrayBuffer()),
    toInput: (rgba, width, height) => nd.default(rgba, [height, width, 4]),
    versions: `${PEER}@${await version(PEER)}, onnxruntime-node@${await version('onnxruntime-node')}, sharp@${await version('sharp')}`,
  };
}
