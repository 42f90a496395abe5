import { STATUS_CODES } from 'node:http';

/**
 * The one error type of the service. Every failure that reaches a client or a job record is an
 * `AppError` with a stable `code`: clients branch on the code, never on the message.
 */
export class AppError extends Error {
  /** HTTP status the API answers with: the code's own from `ERROR_TABLE`, so every site agrees. */
  readonly status: number;

  constructor(
    /** Stable, documented, SCREAMING_SNAKE code. */
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable facts (limits, offending values). Never stack traces. */
    readonly details?: Record<string, unknown>,
    /** The code's second status (`also` in the table), where the README documents one; any other is ignored. */
    options?: { status?: number },
  ) {
    super(message);
    this.name = 'AppError';
    const entry = ERROR_TABLE[code] ?? ERROR_TABLE.INTERNAL;
    this.status = options?.status !== undefined && entry.also?.includes(options.status) ? options.status : entry.status;
  }

  /** The JSON problem body sent to clients. */
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/**
 * An error answer as RFC 9457 problem details, the older `error` object kept beside them during
 * the transition. `type` is `about:blank`, so `title` is the status phrase; `code` (and `details`)
 * are extensions that say which problem it is; `instance` is the request id.
 */
export interface ProblemBody extends ErrorBody {
  /** Always `about:blank` for now: `code` names the problem. */
  type: 'about:blank';
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  details?: Record<string, unknown>;
}

/** The problem fields for an error body (`{ error }`) answered with `status`; `instance` is the request id. */
export function toProblem(body: ErrorBody, status: number, instance?: string): ProblemBody {
  const { code, message, details } = body.error;
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: message,
    ...(instance !== undefined ? { instance } : {}),
    code,
    ...(details !== undefined ? { details } : {}),
    error: body.error,
  };
}

/** Every code the API or a job can report. Adding one is an API change: document it in the README. */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'INVALID_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'EMPTY_UPLOAD',
  'UPLOAD_TOO_LARGE',
  'UPLOAD_TIMEOUT',
  'BODY_INCOMPLETE',
  'URI_TOO_LONG',
  'UNSUPPORTED_MEDIA_TYPE',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'EXTREME_ASPECT_RATIO',
  'STEP_NOT_AVAILABLE',
  'INVALID_RECIPE',
  'RATE_LIMITED',
  'IDEMPOTENCY_CONFLICT',
  'IDEMPOTENCY_MISMATCH',
  'PRECONDITION_FAILED',
  'SERVICE_UNAVAILABLE',
  'STORAGE_ERROR',
  'ASSET_INDEX_BUILDING',
  'CDN_PURGE_FAILED',
  'INVALID_TEMPLATE',
  'UNKNOWN_TEMPLATE',
  'GENERATOR_NOT_CONFIGURED',
  'TOO_MANY_TEMPLATES',
  'INVALID_COLOUR',
  'INVALID_GENERATOR_PARAMS',
  'GENERATOR_MODEL_INVALID',
  'URL_FORBIDDEN',
  'URL_FETCH_FAILED',
  'URL_TOO_LARGE',
  'URL_TIMEOUT',
  'WEBHOOK_DELIVERY_FAILED',
  'TOO_MANY_WEBHOOKS',
  'INVALID_BATCH_ITEM',
  'BATCH_TOO_LARGE',
  'BATCH_STATE_CONFLICT',
  'EXPERIMENT_STATE_CONFLICT',
  'TOO_MANY_EXPERIMENTS',
  'CANCELLED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * What each code means to a client, said once. `status` is the one its answers carry (`also`: the
 * few codes with a second one, both in the README). `transient` marks failures of the transport or
 * of a dependency, not of the request: the same request sent again may succeed, so no answer
 * carrying one is kept for an `Idempotency-Key` (nor is any 5xx). Every other 4xx describes the
 * request itself and fails the same way however often it is sent.
 */
export const ERROR_TABLE: Record<ErrorCode, { status: number; also?: readonly number[]; transient?: true }> = {
  // 431: request headers too large (Node's HTTP parser).
  BAD_REQUEST: { status: 400, also: [431] },
  // A request we could read whose body, query or path parameters break the operation's schema:
  // 422 on every route, like a recipe's or a template's own schema failures (INVALID_RECIPE, ...).
  INVALID_REQUEST: { status: 422 },
  UNAUTHORIZED: { status: 401 },
  FORBIDDEN: { status: 403 },
  NOT_FOUND: { status: 404 },
  EMPTY_UPLOAD: { status: 400 },
  UPLOAD_TOO_LARGE: { status: 413 },
  // The body stalled or was too slow: the network's fault as far as we can tell.
  UPLOAD_TIMEOUT: { status: 408, transient: true },
  // The connection dropped before the body's end.
  BODY_INCOMPLETE: { status: 400, transient: true },
  URI_TOO_LONG: { status: 414 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  CORRUPT_IMAGE: { status: 422 },
  IMAGE_TOO_LARGE: { status: 422 },
  EXTREME_ASPECT_RATIO: { status: 422 },
  STEP_NOT_AVAILABLE: { status: 422 },
  INVALID_RECIPE: { status: 422 },
  RATE_LIMITED: { status: 429, transient: true },
  IDEMPOTENCY_CONFLICT: { status: 409, transient: true },
  IDEMPOTENCY_MISMATCH: { status: 422 },
  // If-Match / If-None-Match on a write names another version than the current one: read it again.
  PRECONDITION_FAILED: { status: 412 },
  SERVICE_UNAVAILABLE: { status: 503, transient: true },
  STORAGE_ERROR: { status: 503, transient: true },
  // A large tenant's asset list is being rebuilt from storage in the background (records/asset-store.ts).
  ASSET_INDEX_BUILDING: { status: 503, transient: true },
  CDN_PURGE_FAILED: { status: 503, also: [502], transient: true },
  INVALID_TEMPLATE: { status: 422 },
  UNKNOWN_TEMPLATE: { status: 422 },
  GENERATOR_NOT_CONFIGURED: { status: 422 },
  TOO_MANY_TEMPLATES: { status: 422 },
  INVALID_COLOUR: { status: 422 },
  INVALID_GENERATOR_PARAMS: { status: 422 },
  GENERATOR_MODEL_INVALID: { status: 500 },
  URL_FORBIDDEN: { status: 422 },
  // An origin that failed (502) or refused (422) may answer otherwise later: never kept.
  URL_FETCH_FAILED: { status: 502, also: [422], transient: true },
  URL_TOO_LARGE: { status: 413 },
  URL_TIMEOUT: { status: 504, transient: true },
  WEBHOOK_DELIVERY_FAILED: { status: 502, transient: true },
  TOO_MANY_WEBHOOKS: { status: 422 },
  INVALID_BATCH_ITEM: { status: 422 },
  BATCH_TOO_LARGE: { status: 413 },
  BATCH_STATE_CONFLICT: { status: 409 },
  EXPERIMENT_STATE_CONFLICT: { status: 409 },
  TOO_MANY_EXPERIMENTS: { status: 422 },
  CANCELLED: { status: 409, transient: true },
  INTERNAL: { status: 500, transient: true },
};

/** True when an answer describes the request itself, so replaying it for the same request is right. */
export const describesRequest = (status: number, code: string | undefined): boolean =>
  status < 500 && !(code !== undefined && (ERROR_TABLE as Record<string, { transient?: true }>)[code]?.transient);

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);

/**
 * An object the pipeline wrote itself (a step's intermediate, a rendition) is gone when the next
 * step reads it: the store's failure, not the request's, so a job retries it (a read that missed a
 * fresh write may find it next time) and a run that runs out of attempts reports STORAGE_ERROR.
 */
export const missingObject = (key: string, what = 'The step input') =>
  new AppError('STORAGE_ERROR', `${what} ${key} is missing from storage.`, { key });

/**
 * True for failures that retrying cannot fix, so jobs must not retry them: bad input (4xx), or
 * a failure whose details say so (a CDN that refused a purge for good).
 */
export const isPermanent = (err: unknown): boolean =>
  err instanceof AppError && ((err.status >= 400 && err.status < 500) || err.details?.retryable === false);
