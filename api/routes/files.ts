import type { FastifyInstance } from 'fastify';
import { isPublicKey } from '../../cdn/keys.js';
import { SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';
import { notFound } from '../../lib/errors.js';
import type { ApiDeps } from '../deps.js';

/**
 * The origin for local-disk storage: serves renditions and manifests (never originals, which may
 * carry GPS and other metadata) with the cache headers they were written with.
 */
export function fileRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/files/*', { schema: { hide: true } }, async (request, reply) => {
    const key = (request.params as { '*': string })['*'];
    if (!isPublicKey(key)) throw notFound('File');
    const object = await deps.storage.getStream(key);
    if (!object) throw notFound('File');
    reply
      .header('content-type', object.meta.contentType)
      .header('content-length', object.meta.size)
      .header('x-content-type-options', 'nosniff');
    if (object.meta.cacheControl) reply.header('cache-control', object.meta.cacheControl);
    if (object.meta.lastModified) reply.header('last-modified', object.meta.lastModified.toUTCString());
    // The CDN indexes these tags (Varnish xkey, Fastly) so a purge reaches exactly these objects.
    const surrogateKeys = object.meta.metadata?.[SURROGATE_KEY_METADATA];
    if (surrogateKeys) reply.header('surrogate-key', surrogateKeys);
    return reply.send(object.body);
  });
}
