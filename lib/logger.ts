import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs. `LOG_LEVEL` is read once in config; this only builds the logger. The
 * destination is stdout unless given (tests capture the lines from a stream).
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'product-image-pipeline', pid: process.pid, ...bindings } };
  return destination ? pino(options, destination) : pino(options);
}
export type { DestinationStream, Logger };
