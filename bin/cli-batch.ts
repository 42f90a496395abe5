import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AppError, type ErrorCode } from '../lib/errors.js';
import type { BatchStatus } from '../workers/batches/store.js';
import type { BatchSubmission } from '../workers/batches/submit.js';
import type { CliIo } from './cli-io.js';

export interface ServerArgs {
  url: string;
  key: string;
  json: boolean;
}


const TYPES: Record<string, string> = { '.csv': 'text/csv', '.jsonl': 'application/x-ndjson', '.ndjson': 'application/x-ndjson' };

async function call(server: ServerArgs, route: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
  const res = await fetch(`${server.url.replace(/\/+$/, '')}${route}`, {
    ...init,
    headers: { authorization: `Bearer ${server.key}`, ...(init.headers as Record<string, string> | undefined) },
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new AppError((body.error?.code ?? 'INTERNAL') as ErrorCode, body.error?.message ?? `the server answered ${res.status}`, undefined, { status: res.status });
  }
  return res;
}

const summary = (s: BatchStatus) =>
  `${s.id} ${s.state}: ${s.counts.completed}/${s.counts.total} done, ${s.counts.failed} failed, ${s.counts.waiting} waiting, ${s.counts.active} active` +
  `${s.counts.cancelled ? `, ${s.counts.cancelled} cancelled` : ''}${s.duplicates ? `, ${s.duplicates} already done elsewhere` : ''}` +
  `${s.state === 'running' ? `; ${s.throughputPerMinute}/min${s.etaSeconds !== null ? `, about ${s.etaSeconds} s left` : ''}` : ''}`;

const failureLines = (s: BatchStatus) => s.failures.map((f) => `  line ${f.line}${f.sku ? ` (${f.sku})` : ''}: ${f.code} ${f.message}\n`).join('');

/** `batch submit <file>`: the file is streamed to the server, never read whole. */
export async function submitCommand(server: ServerArgs, file: string, io: CliIo): Promise<number> {
  const type = TYPES[path.extname(file).toLowerCase()];
  if (!type) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `A catalog is a .csv, .jsonl or .ndjson file, not ${path.basename(file)}.`);
  await stat(file).catch(() => { throw new AppError('NOT_FOUND', `${file} does not exist.`); });
  const res = await call(server, '/v1/batches', {
    method: 'POST',
    headers: { 'content-type': type },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  });
  const body = (await res.json()) as BatchSubmission;
  if (server.json) {
    io.stdout.write(`${JSON.stringify(body)}\n`);
  } else {
    io.stdout.write(`${body.batch.id}\n`);
    io.stderr.write(`${body.accepted} queued, ${body.duplicates.completed} already done, ${body.duplicates.inProgress} in progress elsewhere, ${body.rejected} bad lines\n${failureLines(body.batch)}`);
  }
  return 0;
}

export async function statusCommand(server: ServerArgs, id: string, io: CliIo): Promise<number> {
  const status = (await (await call(server, `/v1/batches/${encodeURIComponent(id)}`)).json()) as BatchStatus;
  io.stdout.write(server.json ? `${JSON.stringify(status)}\n` : `${summary(status)}\n${failureLines(status)}`);
  return 0;
}

export async function cancelCommand(server: ServerArgs, id: string, io: CliIo): Promise<number> {
  const status = (await (await call(server, `/v1/batches/${encodeURIComponent(id)}/cancel`, { method: 'POST' })).json()) as BatchStatus;
  io.stdout.write(server.json ? `${JSON.stringify(status)}\n` : `${summary(status)}\n`);
  return 0;
}

/** `batch export <id>`: the results as JSON Lines on stdout, streamed. */
export async function exportCommand(server: ServerArgs, id: string, io: CliIo): Promise<number> {
  const res = await call(server, `/v1/batches/${encodeURIComponent(id)}/results`);
  for await (const chunk of Readable.fromWeb(res.body! as import('node:stream/web').ReadableStream)) io.stdout.write(chunk as Buffer);
  return 0;
}
