import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNEL_PATTERN, manifestKey } from '../../cdn/keys.js';
import type { AssetManifest } from '../../cdn/manifest.js';
import { onDemandPictureSet } from '../../cdn/on-demand-manifest.js';
import { MAX_ALT_LENGTH, pictureHtml, pictureOptionsSchema } from '../../cdn/picture.js';
import { AppError, notFound } from '../../lib/errors.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { errorBodySchema, idParams } from '../schemas.js';

const querySchema = pictureOptionsSchema.extend({
  alt: z.string().max(MAX_ALT_LENGTH).optional().describe('The `alt` text (HTML-escaped). Default: empty, for the storefront to set.'),
  channel: z.string().regex(CHANNEL_PATTERN).optional().describe('A channel layout of the manifest instead of the main set.'),
  urls: z
    .enum(['renditions', 'on-demand'])
    .default('renditions')
    .describe(
      "`renditions` (default): the pre-rendered files. `on-demand`: the same image through the on-demand endpoint (/img/…, the manifest's `onDemand`), at every width of its ladder; 404 when the manifest offers none.",
    ),
});

/**
 * The `<picture>` snippet of an asset's published manifest, with the choices of this request
 * (loading, sizes, alt, channel): the same builder as the manifest's own snippet, so both agree.
 */
export function pictureRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/v1/assets/:id/picture', {
    preHandler: requireTenant(deps.tenants),
    schema: {
      summary: 'The <picture> snippet of the published asset, with your loading, sizes and alt',
      description:
        'text/html. `loading=lazy` (default) for galleries; `loading=eager` adds fetchpriority="high", for the main (LCP) image. ' +
        'Without `sizes` the snippet declares its own layout: at most its width, shrinking with its container.',
      params: idParams,
      querystring: querySchema,
      produces: ['text/html'],
      response: { 200: z.string(), 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema },
    },
    handler: async (request, reply) => {
      const tenantId = tenantOf(request);
      const asset = await deps.assets.get(tenantId, request.params.id);
      if (!asset) throw notFound('Asset');
      const stored = await deps.storage.get(manifestKey(tenantId, asset.id));
      if (!stored) throw notFound('Published manifest');
      const manifest = JSON.parse(stored.toString('utf8')) as AssetManifest;
      const { channel, alt, urls, ...options } = request.query;
      const set = channel === undefined ? manifest : manifest.channels?.[channel];
      if (!set) throw new AppError('NOT_FOUND', `Channel ${channel} not found in the published manifest`);
      if (urls === 'on-demand' && !set.onDemand) throw new AppError('NOT_FOUND', 'The published manifest offers no on-demand URLs here');
      const source = urls === 'on-demand' ? onDemandPictureSet(set.onDemand!, set.dominantColor) : set;
      const html = pictureHtml(source, { ...options, ...(alt ? { alt } : {}) });
      return reply.header('content-type', 'text/html; charset=utf-8').send(html);
    },
  });
}
