import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startService, type Service } from '../bin/service.js';
import type { Env } from '../lib/env.js';
import type { DestinationStream } from '../lib/logger.js';
import type { BatchStatus } from '../workers/batches/store.js';
import { deleteKeys, REDIS_URL } from './redis-keys.js';
import { checkAnswersFrom, stopCheckingAnswersFrom } from './contract/checked-fetch.js';

export { uncheckedFetch } from './contract/checked-fetch.js';

// The Redis helpers live apart so a benchmark can use them without this file's fetch wrapper.
export { countKeys, deleteKeys, REDIS_URL } from './redis-keys.js';
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

export interface TestService extends Service {
  url: string;
  prefix: string;
  dataDir: string;
  /** Stop the service, delete its Redis keys and its data folder. */
  stop(): Promise<void>;
}

/**
 * A whole service (API + workers) on a random port, with its own UUID-named queue prefix and data
 * folder, so tests never see each other's jobs or objects (BullMQ's tests/utils/cleanup-queue).
 */
/**
 * What every in-process test service shares: this process's environment, its own data folder, a
 * random loopback port, the suite's admin key, no log output, and no models loaded at start.
 */
export function localServiceEnv(dataDir: string): Env {
  return {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
    // Sessions open on first use in tests; the suites that run models say so themselves.
    MODELS_WARM: '',
  };
}

export async function startTestService(overrides: Env = {}, options: { logDestination?: DestinationStream } = {}): Promise<TestService> {
  const prefix = `test-${randomUUID()}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pipeline-test-'));
  const env: Env = {
    ...localServiceEnv(dataDir),
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    JOB_ATTEMPTS: '2',
    ...overrides,
  };
  const service = await startService({ env, ...options });
  // Every answer a test gets from this service is checked against the service's own OpenAPI document.
  checkAnswersFrom(service.url!);
  return {
    ...service,
    url: service.url!,
    prefix,
    dataDir,
    stop: async () => {
      stopCheckingAnswersFrom(service.url!);
      await service.close();
      await deleteKeys(`${prefix}:*`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Any request to the service with a tenant's key added: `api(path, init?)`. */
export function keyedFetch(service: () => { url: string }, key: () => string) {
  return (path: string, init: RequestInit = {}) =>
    fetch(`${service().url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key()}`, ...(init.headers as Record<string, string> | undefined) },
    });
}

/** A JSON call to the service with a tenant's key: `api(method, path, body?)`. */
export function jsonApi(service: () => { url: string }, key: () => string) {
  return (method: string, path: string, body?: unknown) =>
    fetch(`${service().url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
}

/** A tenant and its API key, made through the admin API. */
export async function createTenant(service: { url: string }, name = 'Test shop'): Promise<{ tenantId: string; key: string }> {
  const res = await fetch(`${service.url}/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating a tenant answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { tenant: { id: string }; apiKey: { key: string } };
  return { tenantId: body.tenant.id, key: body.apiKey.key };
}

/** POST /v1/assets with one file part (and an optional recipe field before it). */
export async function upload(
  service: { url: string },
  key: string,
  bytes: Buffer | Uint8Array,
  options: { filename?: string; type?: string; recipe?: unknown } = {},
): Promise<Response> {
  const form = new FormData();
  if (options.recipe !== undefined) form.append('recipe', JSON.stringify(options.recipe));
  form.append('file', new Blob([bytes], { type: options.type ?? 'application/octet-stream' }), options.filename ?? 'upload.bin');
  return fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
}

/** Poll a run until it ends (completed, failed or cancelled) or the deadline passes. */
export async function waitForRun(service: { url: string }, key: string, runId: string, timeoutMs = 90_000): Promise<RunBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${service.url}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${key}` } });
    const run = (await res.json()) as RunBody;
    if (run.state === 'completed' || run.state === 'failed' || run.state === 'cancelled') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.state} after ${timeoutMs} ms: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Poll a catalog batch until it ends (completed or cancelled); throws when the deadline passes first. */
export async function waitForBatch(service: { url: string }, key: string, batchId: string, timeoutMs = 120_000): Promise<BatchStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${service.url}/v1/batches/${batchId}`, { headers: { authorization: `Bearer ${key}` } });
    const status = (await res.json()) as BatchStatus;
    if (status.state === 'completed' || status.state === 'cancelled') return status;
    if (Date.now() > deadline)
      throw new Error(`batch ${batchId} still ${status.state} after ${timeoutMs} ms: ${JSON.stringify(status.counts)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface RunBody {
  id: string;
  assetId: string;
  state: string;
  progress: number;
  steps: Array<{ name: string; state: string; progress: number; error?: { code: string } }>;
  error?: { code: string; message: string };
  outputs?: { manifestUrl: string; manifestKey: string };
}
