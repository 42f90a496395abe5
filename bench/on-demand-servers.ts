/**
 * The two servers of bench/on-demand-vs-ipx.ts, each in processes of its own and each given the
 * same source files: ipx serving a folder, and this service (API + render worker) holding the
 * same files as uploaded assets, answered through its on-demand endpoint. Each exposes "the URL of
 * source `i` with these parameters", built the way its clients build them (ipx's `/<modifiers>/<id>`;
 * `@imgix/js-core` for ours).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import imgixModule from '@imgix/js-core';
import { onDemandPath } from '../cdn/on-demand-url.js';
import { multipartUpload } from './load-photos.js';
import { processTreeCpu, totalCpuMs } from './process-cpu.js';
import { startBenchService } from './load-service.js';

/** One parameter set, spelled for each server. */
export interface ParamSet {
  label: string;
  /** imgix query parameters (ours). */
  imgix: Record<string, string | number>;
  /** ipx modifiers (`w_1000,f_webp`). */
  ipx: string;
}

export interface ImageServer {
  name: string;
  url(source: number, params: ParamSet): string;
  /** CPU time (ms) its processes have used so far: per-request work that machine load does not inflate. */
  cpuMs(): number;
  stop(): Promise<void>;
}

type ImgixClientClass = (typeof imgixModule)['default'];
const ImgixClient: ImgixClientClass =
  (imgixModule as unknown as { default?: ImgixClientClass }).default ?? (imgixModule as unknown as ImgixClientClass);

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
};

/** ipx on its own process, serving `sources` written as `<i>.jpg` in a fresh folder. */
export async function startIpx(repoRoot: string, sources: Buffer[]): Promise<ImageServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ipx-bench-'));
  await Promise.all(sources.map((bytes, i) => writeFile(join(dir, `${i}.jpg`), bytes)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ipx-server.ts', dir], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return {
    name: 'ipx',
    url: (source, params) => `http://127.0.0.1:${port}/${params.ipx}/${source}.jpg`,
    cpuMs: () => totalCpuMs(processTreeCpu(child.pid!)),
    stop: async () => {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The smallest run there is: the sources are served from the original, so the run only has to publish. */
const RECIPE = { steps: [{ name: 'render', options: { widths: [320], formats: ['webp'] } }] };

/**
 * This service with `sources` uploaded (one asset each) and published; URLs name each asset's
 * `original`, pinned to its sha256 as manifests pin theirs, so the endpoint decodes exactly the
 * bytes ipx reads.
 */
export async function startOurs(repoRoot: string, sources: Buffer[], settings: Record<string, string>): Promise<ImageServer> {
  const service = await startBenchService(repoRoot, settings);
  try {
    const tenant = await fetch(`${service.url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'On-demand benchmark' }),
    });
    if (tenant.status !== 201) throw new Error(`creating the tenant answered ${tenant.status}`);
    const key = ((await tenant.json()) as { apiKey: { key: string } }).apiKey.key;
    const auth = { authorization: `Bearer ${key}` };

    const assets: string[] = [];
    for (const [i, bytes] of sources.entries()) {
      const { body, contentType } = multipartUpload(bytes, `${i}.jpg`);
      // The recipe field must come before the file part: splice it in after the boundary line.
      const withRecipe = Buffer.concat([recipePart(contentType), body]);
      const res = await fetch(`${service.url}/v1/assets`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType },
        body: withRecipe,
      });
      if (res.status !== 202) throw new Error(`upload ${i} answered ${res.status}: ${await res.text()}`);
      assets.push(((await res.json()) as { asset: { id: string } }).asset.id);
    }
    const paths = await Promise.all(assets.map((id) => publishedPath(service.url, auth, id)));
    // js-core takes a bare host name (no port); the path and query it builds are what matter.
    const client = new ImgixClient({ domain: 'on-demand.invalid', includeLibraryParam: false });
    return {
      name: 'ours',
      url: (source, params) => client.buildURL(paths[source]!, params.imgix).replace('https://on-demand.invalid', service.url),
      // The API process answers /img (the render worker is idle once the sources are published).
      cpuMs: () => totalCpuMs(processTreeCpu(service.api.pid!)),
      stop: () => service.stop(),
    };
  } catch (error) {
    await service.stop();
    throw error;
  }
}

function recipePart(contentType: string): Buffer {
  const boundary = /boundary=(.+)$/.exec(contentType)![1]!;
  return Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="recipe"\r\n\r\n${JSON.stringify(RECIPE)}\r\n`);
}

/** Wait for the asset's manifest, then the pinned on-demand path of its original. */
async function publishedPath(base: string, auth: Record<string, string>, assetId: string, timeoutMs = 300_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/v1/assets/${assetId}`, { headers: auth });
    if (res.ok) {
      const { manifest } = (await res.json()) as { manifest?: { tenantId: string; source: { sha256: string } } };
      if (manifest) {
        const pin = process.env.ON_DEMAND_PIN === '0' ? undefined : manifest.source.sha256;
        return onDemandPath({ tenantId: manifest.tenantId, assetId, source: 'original', version: pin });
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`asset ${assetId} was not published within ${timeoutMs} ms`);
}
