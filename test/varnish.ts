import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPublicKeysVcl } from '../cdn/varnish/public-keys.js';
import type { Env } from '../lib/env.js';
import { startTestService, type TestService } from './harness.js';

/**
 * Where the shipped default.vcl lives; each run renders its own site.vcl (backend, ACL, host, key
 * prefix) and public-keys.vcl ahead of it on vcl_path.
 */
export const VCL_DIR = fileURLToPath(new URL('../cdn/varnish/', import.meta.url));

/** Options for {@link startVarnish}. */
export interface StartVarnishOptions {
  /** The origin, `http://host:port` (Varnish Cache speaks plain HTTP to backends). */
  origin: string;
  /** Addresses or networks allowed to PURGE and BAN (the `purgers` ACL). Loopback by default. */
  purgers?: string[];
  /** Host header to send to the origin instead of the site's (e.g. an S3 bucket host). */
  originHost?: string;
  /** The public host every request is normalised to; `cdn.example.test` by default. */
  siteHost?: string;
  /**
   * The URL path before an object key on the origin: `/files/` for the API's file route,
   * `/<bucket>/` for a path-style bucket; `/` (keys at the root) by default.
   */
  keyPrefix?: string;
  /** varnishd binary; `VARNISHD` or `/usr/sbin/varnishd` by default. */
  varnishd?: string;
}

/** A running varnishd. */
export interface VarnishHandle {
  /** `http://127.0.0.1:<port>`: where clients (and purgers) talk to Varnish. */
  url: string;
  /** Stop varnishd and remove its working directory. Calling it twice is harmless. */
  stop(): Promise<void>;
}

/** A TCP port free on loopback right now (for a server that must be configured before it listens). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

const vclString = (value: string, what: string) => {
  // VCL strings have no escapes; refuse what would end the string or the line.
  if (/["\r\n]/.test(value)) throw new Error(`startVarnish: ${what} must not contain quotes or newlines`);
  return `"${value}"`;
};

/** The per-run site.vcl that cdn/varnish/default.vcl includes. */
export function renderSiteVcl(options: Pick<StartVarnishOptions, 'origin' | 'purgers' | 'originHost' | 'siteHost' | 'keyPrefix'>): string {
  const origin = new URL(options.origin);
  if (origin.protocol !== 'http:' || (origin.pathname !== '/' && origin.pathname !== '') || origin.search) {
    throw new Error(`startVarnish: origin must be http://host:port, got ${options.origin}`);
  }
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  const purgers = options.purgers ?? ['127.0.0.1', '::1'];
  const acl = purgers.map((p) => {
    const [address, bits] = p.split('/');
    return `    ${vclString(address!, 'purger')}${bits ? `/${Number(bits)}` : ''};`;
  });
  const keyPrefix = options.keyPrefix ?? '/';
  if (!/^\/(?:[A-Za-z0-9._-]+\/)*$/.test(keyPrefix)) throw new Error(`startVarnish: keyPrefix must be like /files/, got ${keyPrefix}`);
  const prefixRegex = vclString(`^${keyPrefix.replace(/\./g, '[.]')}`, 'keyPrefix');
  return [
    'backend origin {',
    `    .host = ${vclString(host, 'origin host')};`,
    `    .port = "${origin.port || '80'}";`,
    '    .connect_timeout = 2s;',
    '    .first_byte_timeout = 30s;',
    '}',
    '',
    'acl purgers {',
    ...acl,
    '}',
    '',
    'sub site_recv {',
    `    set req.http.host = ${vclString(options.siteHost ?? 'cdn.example.test', 'siteHost')};`,
    `    if (req.url ~ ${prefixRegex}) {`,
    `        set req.http.x-object-key = regsub(req.url, ${prefixRegex}, "");`,
    '    }',
    '}',
    '',
    'sub site_backend_fetch {',
    ...(options.originHost ? [`    set bereq.http.host = ${vclString(options.originHost, 'originHost')};`] : []),
    '}',
    '',
  ].join('\n');
}

async function waitUntilAnswering(url: string, child: ChildProcess, output: () => string, deadline: number) {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`varnishd exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    try {
      const res = await fetch(`${url}/_varnish/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`varnishd did not answer on ${url} within 30 s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Start `varnishd` in the foreground with cdn/varnish/default.vcl in front of `origin`, listening
 * on a free 127.0.0.1 port, and resolve once it answers.
 *
 * Flags: `-F` (foreground child of this process), `-n <temp dir>` (own working dir and shared
 * memory, so runs never collide), `-a 127.0.0.1:<port>`, `-T none` (no management CLI port to
 * collide on), `-p vcl_path=<temp dir>:cdn/varnish` with `-f default.vcl` (the rendered site.vcl
 * is found first on the path), `-s malloc,64m`, and `-j none`: as root varnishd would otherwise
 * switch to the `varnish`/`vcache` users, which cannot read a root-owned 0700 temp dir; without a
 * jail it runs as whoever started it, root in CI or not.
 */
export async function startVarnish(options: StartVarnishOptions): Promise<VarnishHandle> {
  const workdir = await mkdtemp(path.join(tmpdir(), 'varnish-'));
  try {
    await writeFile(path.join(workdir, 'site.vcl'), renderSiteVcl(options));
    // The public keys as the code has them now (cdn/varnish/public-keys.test.ts checks the shipped copy).
    await writeFile(path.join(workdir, 'public-keys.vcl'), renderPublicKeysVcl());
    // A port taken between freePort() and varnishd's bind makes it exit: try a few ports.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      let output = '';
      const child = spawn(
        options.varnishd ?? process.env.VARNISHD ?? '/usr/sbin/varnishd',
        [
          '-F',
          '-j',
          'none',
          '-n',
          path.join(workdir, 'n'),
          '-a',
          `127.0.0.1:${port}`,
          '-T',
          'none',
          '-p',
          `vcl_path=${workdir}:${VCL_DIR}`,
          '-f',
          'default.vcl',
          '-s',
          'malloc,64m',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const collect = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-8000);
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      const spawned = once(child, 'spawn').then(
        () => undefined,
        (err: Error) => err,
      );
      const spawnError = await spawned;
      if (spawnError) throw new Error(`could not start varnishd (apt-get install varnish varnish-modules): ${spawnError.message}`);
      try {
        await waitUntilAnswering(url, child, () => output, Date.now() + 30_000);
      } catch (err) {
        await stopChild(child);
        if (attempt < 3 && /address already in use|could not get socket/i.test(output)) continue;
        throw err;
      }
      let stopped: Promise<void> | undefined;
      return {
        url,
        stop() {
          stopped ??= (async () => {
            await stopChild(child);
            await rm(workdir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
  } catch (err) {
    await rm(workdir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A test service behind a real varnishd: its public URLs (`PUBLIC_BASE_URL`) are the edge's
 * `/files/`, and it purges the edge by xkey. `env` adds to or overrides the service's settings.
 */
export async function startServiceBehindVarnish(env: Env = {}): Promise<{ varnish: VarnishHandle; service: TestService }> {
  const port = await freePort();
  const varnish = await startVarnish({ origin: `http://127.0.0.1:${port}`, keyPrefix: '/files/' });
  try {
    const service = await startTestService({
      PORT: String(port),
      CDN_INVALIDATOR: 'varnish',
      VARNISH_URL: varnish.url,
      PUBLIC_BASE_URL: `${varnish.url}/files`,
      ...env,
    });
    return { varnish, service };
  } catch (err) {
    await varnish.stop();
    throw err;
  }
}
