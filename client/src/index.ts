/**
 * Typed client for the product image pipeline API. The operations' types are generated from the
 * API's OpenAPI document (./schema.ts, `npm run client:generate`); the rest is what generators do
 * not cover: streamed multipart uploads, waiting for runs, catalogs, webhook signatures, retries.
 */
export { createPipelineClient, type PipelineClient, type PipelineClientOptions, type UploadOptions } from './client.js';
export { PipelineError } from './errors.js';
export type { CatalogFormat, CatalogItem, CatalogSource } from './catalog.js';
export type { UploadSource } from './multipart.js';
export type { RetryOptions } from './transport.js';
export type { WaitOptions } from './wait.js';
export {
  parseWebhook,
  verifyWebhook,
  WebhookVerificationError,
  WEBHOOK_TOLERANCE_SECONDS,
  type WebhookEvent,
  type WebhookHeaders,
} from './webhooks.js';
export {
  FINAL_RUN_STATES,
  type Asset,
  type BatchResultLine,
  type BatchStatus,
  type BatchSubmission,
  type Recipe,
  type Run,
  type RunState,
  type UploadResult,
} from './types.js';
export type { paths } from './schema.js';
