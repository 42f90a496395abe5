/**
 * Every non-2xx answer becomes a `PipelineError` carrying the server's stable `code`, so callers
 * branch on codes, never on messages. The server answers RFC 9457 problem details (`{ type, title,
 * status, detail, instance, code, details }`); the older `{ error: { code, message, details } }`
 * object is read too, for servers from before it.
 */
export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    /** HTTP status; 0 when no answer came (the network failed). */
    readonly status: number,
    /** The server's error code, e.g. `RATE_LIMITED`, `NOT_FOUND`. */
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** `X-Request-Id` of the answer: quote it when asking the operator. */
    readonly requestId?: string,
  ) {
    super(message);
  }
}

interface ErrorBody {
  code?: string;
  title?: string;
  detail?: string;
  details?: Record<string, unknown>;
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

/** The error a failed response stands for; reads (and so consumes) its body. */
export async function errorFromResponse(res: Response): Promise<PipelineError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's HTML page): the status alone says what happened.
  }
  return errorFromBody(res, body);
}

/** The same from a body already parsed (openapi-fetch hands over `error`). */
export function errorFromBody(res: Response, parsed: unknown): PipelineError {
  const body = (parsed && typeof parsed === 'object' ? parsed : {}) as ErrorBody;
  const code = body.code ?? body.error?.code ?? `HTTP_${res.status}`;
  const message = body.detail ?? body.error?.message ?? body.title ?? `the server answered ${res.status} ${res.statusText}`.trim();
  return new PipelineError(res.status, code, message, body.details ?? body.error?.details, res.headers.get('x-request-id') ?? undefined);
}
