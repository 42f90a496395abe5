import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../lib/errors.js';
import type { ApiDeps } from '../deps.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

/**
 * The static files: next to this module in the source tree, or (compiled into `dist/`) back in
 * the source folder, which the production image copies alongside `dist/`.
 */
function publicDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'public'), path.resolve(here, '../../../api/dashboard/public')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`dashboard files not found; looked in ${candidates.join(', ')}`);
  return found;
}

function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    if (!contentType) continue;
    const body = readFileSync(path.join(dir, name));
    files.set(name, { body, contentType, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` });
  }
  return files;
}

/**
 * The web dashboard: `/` serves the page, `/dashboard/<version>/<file>` its scripts and styles.
 * The version is a hash of every file, so assets are cached for a year (immutable) and a deploy
 * changes every URL at once; the page itself is revalidated on each visit (ETag).
 */
export function dashboardRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const files = loadFiles(publicDir());
  const version = createHash('sha256')
    .update(
      [...files.entries()]
        .map(([name, f]) => `${name}:${f.etag}`)
        .sort()
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 12);
  const assetBase = `/dashboard/${version}`;
  const template = files.get('index.html');
  if (!template) throw new Error('dashboard index.html missing');
  const html = Buffer.from(template.body.toString('utf8').replaceAll('{{ASSET_BASE}}', assetBase));
  const page: StaticFile = { body: html, contentType: template.contentType, etag: `"${version}"` };

  // Published renditions may live on another origin (a CDN, a bucket, or localhost vs 127.0.0.1).
  const filesOrigin = () => {
    try {
      return new URL(deps.urlFor('x')).origin;
    } catch {
      return '';
    }
  };
  const securityHeaders = (reply: FastifyReply) =>
    reply
      .header(
        'content-security-policy',
        [
          "default-src 'none'",
          "script-src 'self'",
          "style-src 'self'",
          `img-src 'self' blob: data: ${filesOrigin()}`.trim(),
          "connect-src 'self'",
          "base-uri 'none'",
          "form-action 'none'",
          "frame-ancestors 'none'",
        ].join('; '),
      )
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');

  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string) => {
    securityHeaders(reply).header('cache-control', cacheControl).header('etag', file.etag);
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.header('content-type', file.contentType).header('content-length', file.body.length).send(file.body);
  };

  app.get('/', { schema: { hide: true } }, async (request, reply) => send(request, reply, page, 'no-cache'));
  app.get('/dashboard/:version/:file', { schema: { hide: true } }, async (request, reply) => {
    const params = request.params as { version: string; file: string };
    const file = params.file === 'index.html' ? undefined : files.get(params.file);
    if (params.version !== version || !file) throw notFound('File');
    return send(request, reply, file, 'public, max-age=31536000, immutable');
  });
}
