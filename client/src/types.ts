import type { paths } from './schema.js';

/** The JSON body of an operation's answer, as the API's document declares it. */
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;

export type UploadResult = JsonOf<paths['/v1/assets']['post']['responses'][202]>;
export type Asset = JsonOf<paths['/v1/assets/{id}']['get']['responses'][200]>;
export type Run = JsonOf<paths['/v1/runs/{id}']['get']['responses'][200]>;
export type RunState = Run['state'];
export type Recipe = Run['recipe'];
export type BatchStatus = JsonOf<paths['/v1/batches/{id}']['get']['responses'][200]>;
export type BatchSubmission = JsonOf<paths['/v1/batches']['post']['responses'][202]>;

/**
 * One line of `GET /v1/batches/:id/results` (JSON Lines; the document gives that body no schema).
 * A duplicate line shows the item that did the work.
 */
export interface BatchResultLine {
  line: number;
  sku: string;
  state: string;
  assetId?: string;
  runId?: string;
  manifestUrl?: string;
  urls?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** Runs end in one of these and change no more. */
export const FINAL_RUN_STATES: readonly RunState[] = ['completed', 'failed', 'cancelled'];
