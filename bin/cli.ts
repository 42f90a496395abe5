#!/usr/bin/env node
/**
 * `pipeline`: the product on the command line.
 *
 *   pipeline render <file|folder> [--recipe <json>] [--out <dir>]
 *   pipeline batch submit <catalog.csv|.jsonl> | status <id> | export <id> | cancel <id>
 *         [--url <server>] [--key <api key>] [--json]     (or PIPELINE_URL, PIPELINE_API_KEY)
 *   pipeline --version
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AppError } from '../lib/errors.js';
import { cancelCommand, exportCommand, statusCommand, submitCommand, type ServerArgs } from './cli-batch.js';
import type { CliIo } from './cli-io.js';
import { renderCommand } from './cli-render.js';

const USAGE = `Usage:
  pipeline render <file|folder> [--recipe <json>] [--out <dir>]
  pipeline batch submit <catalog.csv|catalog.jsonl> [--url <server>] [--key <api key>] [--json]
  pipeline batch status <batch id> | export <batch id> | cancel <batch id>
  pipeline --version
Server and key default to PIPELINE_URL (else http://127.0.0.1:3000) and PIPELINE_API_KEY.
`;

/**
 * The version in the product's package.json: the nearest one above this file, which is bin/ when
 * run from source and dist/bin/ when built (tsc copies no package.json into dist/).
 */
export function productVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) throw new Error('no package.json above the command line tool');
  }
}

/** Run one command; returns the exit code. Errors are printed as `CODE: message`, never as stacks. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        recipe: { type: 'string' },
        out: { type: 'string' },
        url: { type: 'string' },
        key: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, sub, target] = positionals;
  if (values.version) {
    io.stdout.write(`${productVersion()}\n`);
    return 0;
  }
  if (values.help || !command) {
    io.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  try {
    if (command === 'render' && sub) return await renderCommand({ input: sub, recipe: values.recipe, out: values.out }, io);
    if (command === 'batch' && sub && target) {
      const key = values.key ?? io.env.PIPELINE_API_KEY;
      if (!key) throw new AppError('UNAUTHORIZED', 'Give an API key with --key or PIPELINE_API_KEY.');
      const server: ServerArgs = { url: values.url ?? io.env.PIPELINE_URL ?? 'http://127.0.0.1:3000', key, json: values.json };
      if (sub === 'submit') return await submitCommand(server, target, io);
      if (sub === 'status') return await statusCommand(server, target, io);
      if (sub === 'export') return await exportCommand(server, target, io);
      if (sub === 'cancel') return await cancelCommand(server, target, io);
    }
  } catch (err) {
    io.stderr.write(err instanceof AppError ? `${err.code}: ${err.message}\n` : `${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  io.stderr.write(USAGE);
  return 2;
}

// Run when executed (directly, or through npm's `pipeline` link), not when imported (tests call runCli).
const invokedAs = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (import.meta.url === invokedAs) {
  const env = { PIPELINE_URL: process.env.PIPELINE_URL, PIPELINE_API_KEY: process.env.PIPELINE_API_KEY, ...process.env };
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env, isTTY: process.stderr.isTTY === true }).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
