import { UnrecoverableError } from 'bullmq';
import { ZodError } from 'zod';
import { AppError, isPermanent, type ErrorCode, ERROR_CODES } from '../lib/errors.js';

/**
 * Failure classes (BullMQ's `UnrecoverableError`): bad input never retries, anything else retries
 * with backoff. The code travels in the message because a sandboxed processor's error crosses a
 * process boundary as `{ name, message }` only.
 */
export function toJobError(err: unknown): Error {
  // A payload that does not match the catalogue will not match on the next attempt either.
  if (err instanceof ZodError) return new UnrecoverableError(`BAD_REQUEST: invalid job payload: ${err.message}`);
  if (isPermanent(err)) {
    const app = err as AppError;
    return new UnrecoverableError(`${app.code}: ${app.message}`);
  }
  if (err instanceof AppError) return new Error(`${err.code}: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** The `{ code, message }` a client sees for a failed job's `failedReason`. */
export function describeJobFailure(reason: string | undefined): { code: ErrorCode; message: string } {
  const match = /^([A-Z_]+): (.*)$/s.exec(reason ?? '');
  if (match && (ERROR_CODES as readonly string[]).includes(match[1]!)) {
    return { code: match[1] as ErrorCode, message: match[2]! };
  }
  // Internal faults keep their detail in logs, not in client-visible bodies.
  return { code: 'INTERNAL', message: 'The step failed after all retries; see the service logs.' };
}
