/**
 * The one error type of the service. Every failure that reaches a client or a job record is an
 * `AppError` with a stable `code`: clients branch on the code, never on the message.
 */
export class AppError extends Error {
  constructor(
    /** HTTP status the API answers with. */
    readonly status: number,
    /** Stable, documented, SCREAMING_SNAKE code. */
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable facts (limits, offending values). Never stack traces. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** The JSON problem body sent to clients. */
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** Every code the API or a job can report. Adding one is an API change: document it in the README. */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'EMPTY_UPLOAD',
  'UPLOAD_TOO_LARGE',
  'UPLOAD_TIMEOUT',
  'UNSUPPORTED_MEDIA_TYPE',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'STEP_NOT_AVAILABLE',
  'INVALID_RECIPE',
  'EXTREME_ASPECT_RATIO',
  'RATE_LIMITED',
  'IDEMPOTENCY_CONFLICT',
  'IDEMPOTENCY_MISMATCH',
  'SERVICE_UNAVAILABLE',
  'STORAGE_ERROR',
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
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const badInput = (code: ErrorCode, message: string, details?: Record<string, unknown>) =>
  new AppError(code === 'UPLOAD_TOO_LARGE' ? 413 : code === 'UNSUPPORTED_MEDIA_TYPE' ? 415 : 422, code, message, details);

export const notFound = (what: string) => new AppError(404, 'NOT_FOUND', `${what} not found`);

/**
 * True for failures that retrying cannot fix, so jobs must not retry them: bad input (4xx), or
 * a failure whose details say so (a CDN that refused a purge for good).
 */
export const isPermanent = (err: unknown): boolean =>
  err instanceof AppError && ((err.status >= 400 && err.status < 500) || err.details?.retryable === false);
