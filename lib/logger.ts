import { pino, type DestinationStream, type Logger } from 'pino';
import { z } from 'zod';
import { parseEnv, type Env } from './env.js';

const logSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/**
 * `LOG_LEVEL`, validated: the one reader of it, for the service's configuration (bin/config.ts)
 * and for every child process, so a bad value fails the same way, naming the variable, everywhere.
 */
export const logLevelFromEnv = (env: Env): string => parseEnv(logSchema, env, 'logging').LOG_LEVEL;

/**
 * Structured JSON logs. `LOG_LEVEL` is read once per process by {@link logLevelFromEnv}; this only
 * builds the logger. The destination is stdout unless given (tests capture the lines from a stream).
 * Stdout is written synchronously: pino's asynchronous default lost a process's last lines when it
 * exited right after them (a shutdown's `stopped in … ms`, seen in CI), and our volume is small.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'product-image-pipeline', pid: process.pid, ...bindings } };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
export type { DestinationStream, Logger };
