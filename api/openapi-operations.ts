/**
 * Operation ids, fixed here so that generated clients keep their method names when a route's
 * summary or file changes. An operation missing from the table gets one derived from its method and
 * path (`GET /v1/things/{id}` → `getThingsById`); add it here to choose a better one.
 */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  'POST /v1/tenants': 'createTenant',
  'DELETE /v1/tenants/{id}': 'deleteTenant',
  'GET /v1/tenants/{id}/deletion': 'getTenantDeletion',
  'POST /v1/tenants/{id}/keys': 'createApiKey',
  'GET /v1/tenants/{id}/keys': 'listApiKeys',
  'POST /v1/tenants/{id}/keys/{keyId}/rotate': 'rotateApiKey',
  'DELETE /v1/tenants/{id}/keys/{keyId}': 'revokeApiKey',
  'GET /v1/assets': 'listAssets',
  'POST /v1/assets': 'uploadAsset',
  'POST /v1/assets/from-url': 'ingestAssetFromUrl',
  'GET /v1/assets/{id}': 'getAsset',
  'DELETE /v1/assets/{id}': 'deleteAsset',
  'POST /v1/assets/{id}/runs': 'startRun',
  'GET /v1/assets/{id}/picture': 'getAssetPicture',
  'GET /img/{tenantId}/{assetId}/{source}': 'getOnDemandImage',
  'POST /v1/on-demand/signing-token': 'issueOnDemandSigningToken',
  'DELETE /v1/on-demand/signing-token': 'removeOnDemandSigningToken',
  'GET /v1/runs/{id}': 'getRun',
  'GET /v1/runs/{id}/events': 'streamRunEvents',
  'POST /admin/session': 'startAdminSession',
  'DELETE /admin/session': 'endAdminSession',
  'GET /v1/templates': 'listTemplates',
  'GET /v1/templates/{id}': 'getTemplate',
  'PUT /v1/templates/{id}': 'putTemplate',
  'DELETE /v1/templates/{id}': 'deleteTemplate',
  'POST /v1/templates/{id}/rerender': 'rerenderTemplate',
  'GET /v1/templates/{id}/preview.png': 'getTemplatePreview',
  'POST /v1/batches': 'submitBatch',
  'GET /v1/batches': 'listBatches',
  'GET /v1/batches/{id}': 'getBatch',
  'POST /v1/batches/{id}/pause': 'pauseBatch',
  'POST /v1/batches/{id}/resume': 'resumeBatch',
  'POST /v1/batches/{id}/cancel': 'cancelBatch',
  'GET /v1/batches/{id}/results': 'getBatchResults',
  'POST /v1/webhooks': 'createWebhook',
  'GET /v1/webhooks': 'listWebhooks',
  'DELETE /v1/webhooks/{id}': 'deleteWebhook',
  'GET /v1/webhooks/{id}/deliveries': 'listWebhookDeliveries',
  'POST /v1/webhooks/deliveries/{id}/replay': 'replayWebhookDelivery',
  'POST /v1/experiments': 'createExperiment',
  'GET /v1/experiments': 'listExperiments',
  'GET /v1/experiments/{id}': 'getExperiment',
  'POST /v1/experiments/{id}/pause': 'pauseExperiment',
  'POST /v1/experiments/{id}/resume': 'resumeExperiment',
  'POST /v1/experiments/{id}/stop': 'stopExperiment',
  'GET /v1/experiments/{id}/results': 'getExperimentResults',
  'POST /v1/experiments/{id}/conversions': 'recordExperimentConversion',
  'POST /v1/experiments/{id}/impressions': 'recordExperimentImpression',
  'GET /v1/experiments/{id}/impression.gif': 'getExperimentImpressionPixel',
  'POST /v1/experiments/{id}/promote': 'promoteExperimentVariant',
  'GET /v1/experiments/{id}/picture': 'getExperimentPicture',
};

/** `GET /v1/things/{id}` → `getThingsById`: stable as long as the route is. */
export function operationIdFor(key: string): string {
  const [method, path] = key.split(' ') as [string, string];
  const words = path
    .split('/')
    .filter((s) => s && s !== 'v1')
    .map((s) => {
      const param = /^\{(\w+)\}$/.exec(s)?.[1];
      const word = param ? `by-${param}` : s;
      return word
        .split(/[^A-Za-z0-9]+/)
        .filter(Boolean)
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join('');
    });
  return method.toLowerCase() + words.join('');
}

/** Operations that need no key (probes; signing out, which reads the session cookie). */
export const PUBLIC_OPERATIONS: ReadonlySet<string> = new Set([
  'GET /healthz',
  'GET /readyz',
  'DELETE /admin/session',
  // On-demand images are fetched by browsers and CDNs, which hold no key (a signature, when the tenant sets a token).
  'GET /img/{tenantId}/{assetId}/{source}',
  // Impression beacons come from shoppers' browsers, which hold no key.
  'POST /v1/experiments/{id}/impressions',
  'GET /v1/experiments/{id}/impression.gif',
]);

/** Operations the rate limit never counts (api/guards/rate-limit.ts): the probes, on-demand images (their own pool bounds them). */
export const UNLIMITED_OPERATIONS: ReadonlySet<string> = new Set(['GET /healthz', 'GET /readyz', 'GET /img/{tenantId}/{assetId}/{source}']);

/**
 * The errors an operation answers beyond its guards' (which `api/openapi.ts` derives from its
 * parameters, body, key and idempotency): the domain's own, by status.
 */
export const ROUTE_ERRORS: Readonly<Record<string, readonly number[]>> = {
  'POST /v1/tenants': [403],
  'DELETE /v1/tenants/{id}': [403],
  'GET /v1/tenants/{id}/deletion': [403],
  'POST /v1/tenants/{id}/keys': [403],
  'GET /v1/tenants/{id}/keys': [403],
  'POST /v1/tenants/{id}/keys/{keyId}/rotate': [403],
  'DELETE /v1/tenants/{id}/keys/{keyId}': [403],
  'POST /admin/session': [403],
  'POST /v1/assets': [422],
  'POST /v1/assets/from-url': [422, 502, 504],
  'POST /v1/assets/{id}/runs': [422],
  'PUT /v1/templates/{id}': [412, 422],
  'DELETE /v1/templates/{id}': [412],
  'POST /v1/templates/{id}/rerender': [422],
  'GET /v1/templates/{id}/preview.png': [422],
  'GET /img/{tenantId}/{assetId}/{source}': [403, 422, 503],
  'POST /v1/batches/{id}/pause': [409],
  'POST /v1/batches/{id}/resume': [409],
  'POST /v1/batches/{id}/cancel': [409],
  'POST /v1/webhooks': [422],
  'POST /v1/experiments': [404, 422],
  'POST /v1/experiments/{id}/pause': [409],
  'POST /v1/experiments/{id}/resume': [409],
  'POST /v1/experiments/{id}/stop': [409],
  'POST /v1/experiments/{id}/promote': [409, 422],
};
