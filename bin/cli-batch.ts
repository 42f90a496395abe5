import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createPipelineClient, PipelineError, type BatchStatus, type PipelineClient } from '../client/src/index.js';
import { AppError, type ErrorCode } from '../lib/errors.js';
import type { CliIo } from './cli-io.js';

export interface ServerArgs {
  url: string;
  key: string;
  json: boolean;
}

const CATALOG_EXTENSIONS = new Set(['.csv', '.jsonl', '.ndjson']);

/**
 * Each batch command through the typed client (client/): its key, Idempotency-Key and retries on
 * 429/503; the server's error code comes back as this command line's error.
 */
async function withClient<T>(server: ServerArgs, command: (client: PipelineClient) => Promise<T>): Promise<T> {
  try {
    return await command(createPipelineClient({ baseUrl: server.url, apiKey: server.key }));
  } catch (err) {
    if (err instanceof PipelineError) throw new AppError(err.code as ErrorCode, err.message, err.details, { status: err.status });
    throw err;
  }
}

const summary = (s: BatchStatus) =>
  `${s.id} ${s.state}: ${s.counts.completed}/${s.counts.total} done, ${s.counts.failed} failed, ${s.counts.waiting} waiting, ${s.counts.active} active` +
  `${s.counts.cancelled ? `, ${s.counts.cancelled} cancelled` : ''}${s.duplicates ? `, ${s.duplicates} already done elsewhere` : ''}` +
  `${s.state === 'running' ? `; ${s.throughputPerMinute}/min${s.etaSeconds !== null ? `, about ${s.etaSeconds} s left` : ''}` : ''}`;

const failureLines = (s: BatchStatus) =>
  s.failures.map((f) => `  line ${f.line}${f.sku ? ` (${f.sku})` : ''}: ${f.code} ${f.message}\n`).join('');

/** `batch submit <file>`: the file is streamed to the server, never read whole. */
export async function submitCommand(server: ServerArgs, file: string, io: CliIo): Promise<number> {
  if (!CATALOG_EXTENSIONS.has(path.extname(file).toLowerCase()))
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `A catalog is a .csv, .jsonl or .ndjson file, not ${path.basename(file)}.`);
  await stat(file).catch(() => {
    throw new AppError('NOT_FOUND', `${file} does not exist.`);
  });
  const body = await withClient(server, (client) => client.submitCatalog(file));
  if (server.json) {
    io.stdout.write(`${JSON.stringify(body)}\n`);
  } else {
    io.stdout.write(`${body.batch.id}\n`);
    io.stderr.write(
      `${body.accepted} queued, ${body.duplicates.completed} already done, ${body.duplicates.inProgress} in progress elsewhere, ${body.rejected} bad lines\n${failureLines(body.batch)}`,
    );
  }
  return 0;
}

export async function statusCommand(server: ServerArgs, id: string, io: CliIo): Promise<number> {
  const status = await withClient(server, (client) => client.getBatch(id));
  io.stdout.write(server.json ? `${JSON.stringify(status)}\n` : `${summary(status)}\n${failureLines(status)}`);
  return 0;
}

export async function cancelCommand(server: ServerArgs, id: string, io: CliIo): Promise<number> {
  const status = await withClient(server, (client) => client.cancelBatch(id));
  io.stdout.write(server.json ? `${JSON.stringify(status)}\n` : `${summary(status)}\n`);
  return 0;
}

/** `batch export <id>`: the results as JSON Lines on stdout, streamed. */
export async function exportCommand(server: ServerArgs, id: string, io: CliIo): Promise<number> {
  await withClient(server, async (client) => {
    for await (const line of client.batchResults(id)) io.stdout.write(`${JSON.stringify(line)}\n`);
  });
  return 0;
}
