import createClient, { type Client } from 'openapi-fetch';
import { catalogBody, jsonLines, type CatalogFormat, type CatalogSource } from './catalog.js';
import { errorFromBody, PipelineError } from './errors.js';
import { isReplayable, multipartBody, type UploadSource } from './multipart.js';
import type { paths } from './schema.js';
import { createTransport, type TransportOptions } from './transport.js';
import type { Asset, BatchResultLine, BatchStatus, BatchSubmission, Recipe, Run, UploadResult } from './types.js';
import { waitForRun, type WaitOptions } from './wait.js';

export type PipelineClientOptions = TransportOptions;

export interface UploadOptions {
  /** The recipe of the first run; the server's default recipe when left out. */
  recipe?: Recipe;
  /** The product's SKU: its stable URLs are published under it too. */
  sku?: string;
  filename?: string;
  contentType?: string;
  signal?: AbortSignal;
}

export interface PipelineClient {
  /** Every operation of the API, typed from its OpenAPI document (openapi-fetch). */
  readonly api: Client<paths>;
  /** `POST /v1/assets`: a file path, bytes or a stream; a path or bytes are retried, a stream is sent once. */
  uploadAsset(source: UploadSource, options?: UploadOptions): Promise<UploadResult>;
  getAsset(assetId: string): Promise<Asset>;
  getRun(runId: string): Promise<Run>;
  /** Until the run completed, failed or was cancelled (event stream, else polling). */
  waitForRun(runId: string, options?: WaitOptions): Promise<Run>;
  /** `POST /v1/batches`: a catalog file, or items (objects become JSON Lines). */
  submitCatalog(source: CatalogSource, options?: { format?: CatalogFormat; signal?: AbortSignal }): Promise<BatchSubmission>;
  getBatch(batchId: string): Promise<BatchStatus>;
  cancelBatch(batchId: string): Promise<BatchStatus>;
  /** Polls until the batch completed or was cancelled (default: at most an hour, then `TIMEOUT`). */
  waitForBatch(
    batchId: string,
    options?: { timeoutMs?: number; pollIntervalMs?: number; onProgress?: (status: BatchStatus) => void },
  ): Promise<BatchStatus>;
  /** Every line of a batch and what came of it, streamed. */
  batchResults(batchId: string): AsyncGenerator<BatchResultLine>;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The data of a 2xx answer, or the `PipelineError` its error body stands for. */
async function ok<T>(call: Promise<Answer<T>>): Promise<NonNullable<T>> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw errorFromBody(response, error);
  return data as NonNullable<T>;
}

/**
 * A client for one tenant. Every request carries the key; POSTs carry an `Idempotency-Key`; 429
 * and 503 are retried with `Retry-After`. Failures throw `PipelineError` with the server's code.
 */
export function createPipelineClient(options: PipelineClientOptions): PipelineClient {
  const transport = createTransport(options);
  const api = createClient<paths>({ baseUrl: transport.baseUrl, fetch: (request) => transport.fetchRequest(request) });
  const id = (value: string) => ({ params: { path: { id: value } } });

  const client: PipelineClient = {
    api,
    async uploadAsset(source, upload = {}) {
      const fields: Record<string, string> = {};
      if (upload.recipe !== undefined) fields.recipe = JSON.stringify(upload.recipe);
      if (upload.sku !== undefined) fields.sku = upload.sku;
      const form = multipartBody(fields, {
        source,
        ...(upload.filename ? { filename: upload.filename } : {}),
        ...(upload.contentType ? { contentType: upload.contentType } : {}),
      });
      const res = await transport.send('/v1/assets', {
        method: 'POST',
        headers: { 'content-type': form.contentType },
        body: form.body,
        once: !isReplayable(source),
        ...(upload.signal ? { signal: upload.signal } : {}),
      });
      return (await res.json()) as UploadResult;
    },
    getAsset: (assetId) => ok(api.GET('/v1/assets/{id}', id(assetId))),
    getRun: (runId) => ok(api.GET('/v1/runs/{id}', id(runId))),
    waitForRun: (runId, wait) => waitForRun(transport, runId, wait),
    async submitCatalog(source, submit = {}) {
      const catalog = catalogBody(source, submit.format);
      const res = await transport.send('/v1/batches', {
        method: 'POST',
        headers: { 'content-type': catalog.contentType },
        body: catalog.body,
        once: !catalog.replayable,
        ...(submit.signal ? { signal: submit.signal } : {}),
      });
      return (await res.json()) as BatchSubmission;
    },
    getBatch: (batchId) => ok(api.GET('/v1/batches/{id}', id(batchId))),
    cancelBatch: (batchId) => ok(api.POST('/v1/batches/{id}/cancel', id(batchId))),
    async waitForBatch(batchId, wait = {}) {
      const deadline = Date.now() + (wait.timeoutMs ?? 60 * 60_000);
      for (;;) {
        const status = await client.getBatch(batchId);
        wait.onProgress?.(status);
        if (status.state === 'completed' || status.state === 'cancelled') return status;
        if (Date.now() > deadline)
          throw new PipelineError(0, 'TIMEOUT', `batch ${batchId} still ${status.state} after ${wait.timeoutMs ?? 3_600_000} ms`);
        await new Promise((resolve) => setTimeout(resolve, wait.pollIntervalMs ?? 2000));
      }
    },
    async *batchResults(batchId) {
      const res = await transport.send(`/v1/batches/${encodeURIComponent(batchId)}/results`);
      yield* jsonLines<BatchResultLine>(res.body);
    },
  };
  return client;
}
