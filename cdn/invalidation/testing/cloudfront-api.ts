import { createHash, createHmac, randomUUID } from 'node:crypto';
import { startLocalService, type Answer, type LocalService, type ReceivedRequest } from './local-service.js';

const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

/** One invalidation the local CloudFront created. */
export interface LocalInvalidation {
  id: string;
  callerReference: string;
  paths: string[];
  createdAt: number;
  completesAt: number;
}

/** A local stand-in for CloudFront's CreateInvalidation, with what it created. */
export interface CloudFrontApi extends LocalService {
  invalidations: LocalInvalidation[];
  /** Credentials it checks SigV4 signatures against. */
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface CloudFrontApiOptions {
  distributionId: string;
  /** How long an invalidation stays InProgress (counts against the limits); 0 by default. */
  completeAfterMs?: number;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xmlUnescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

const errorAnswer = (status: number, code: string, message: string, type = 'Sender'): Answer => {
  const requestId = randomUUID();
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amz-request-id': requestId },
    body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
};

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Check AWS Signature Version 4 as AWS documents it for CloudFront (a global service signed for
 * us-east-1, service `cloudfront`): recompute the signature from the request and compare.
 * Returns a problem, `'unknown key'`, or undefined when the signature is right.
 */
function checkSigV4(req: ReceivedRequest, creds: { accessKeyId: string; secretAccessKey: string }): string | undefined {
  const auth = req.headers.authorization ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return `Authorization is not a SigV4 header: ${auth.slice(0, 80)}`;
  const [, keyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  if (region !== 'us-east-1' || service !== 'cloudfront') return `signed for ${region}/${service}, CloudFront needs us-east-1/cloudfront`;
  const amzDate = req.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(date!))
    return 'x-amz-date missing or not the credential date';
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'SignedHeaders must include host and x-amz-date';
  if (keyId !== creds.accessKeyId) return 'unknown key';
  const [path = '/', query = ''] = req.target.split('?');
  // Non-S3 services sign each path segment URI-encoded twice; the request carries it encoded once.
  const canonicalUri = path.split('/').map(rfc3986).join('/');
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((p) =>
      p
        .split('=')
        .map((x) => rfc3986(decodeURIComponent(x)))
        .join('='),
    )
    .sort()
    .join('&');
  const headerLines = names
    .map(
      (n) =>
        `${n}:${String(req.headers[n] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const payloadHash = typeof req.headers['x-amz-content-sha256'] === 'string' ? req.headers['x-amz-content-sha256'] : sha256(req.body);
  const canonical = [req.method, canonicalUri, canonicalQuery, headerLines, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex') === signature ? undefined : 'signature does not match';
}

/** Parse an InvalidationBatch document exactly; a string names what is wrong. */
function parseBatch(xml: string): { paths: string[]; callerReference: string } | string {
  const root = new RegExp(
    `^(?:<\\?xml[^>]*\\?>)?\\s*<InvalidationBatch xmlns="${NS.replace(/[./]/g, '\\$&')}">([\\s\\S]*)</InvalidationBatch>\\s*$`,
  ).exec(xml);
  if (!root) return 'body is not an InvalidationBatch in the 2020-05-31 namespace';
  let inner = root[1]!;
  const paths = /<Paths><Quantity>(\d+)<\/Quantity>(?:<Items>((?:<Path>[^<]*<\/Path>)*)<\/Items>)?<\/Paths>/.exec(inner);
  if (!paths) return 'InvalidationBatch needs <Paths><Quantity/><Items><Path/>…</Items></Paths>';
  inner = inner.replace(paths[0], '');
  const ref = /<CallerReference>([^<]+)<\/CallerReference>/.exec(inner);
  if (!ref) return 'InvalidationBatch needs a CallerReference';
  if (inner.replace(ref[0], '').trim()) return `unexpected elements: ${inner.replace(ref[0], '').slice(0, 100)}`;
  const items = [...(paths[2] ?? '').matchAll(/<Path>([^<]*)<\/Path>/g)].map((x) => xmlUnescape(x[1]!));
  if (Number(paths[1]) !== items.length) return `Quantity ${paths[1]} but ${items.length} paths`;
  if (!items.length) return 'no paths';
  return { paths: items, callerReference: xmlUnescape(ref[1]!) };
}

/**
 * CloudFront's CreateInvalidation (`POST /2020-05-31/distribution/{Id}/invalidation`) as the API
 * reference and the invalidation quotas document it, on 127.0.0.1: SigV4-signed for us-east-1,
 * an exact InvalidationBatch XML body, paths starting with `/` with `*` only at the end and unsafe
 * characters URL-encoded; at most 3,000 file paths and 15 wildcard paths in progress per
 * distribution (TooManyInvalidationsInProgress beyond); a CallerReference reused with another
 * batch is InvalidationBatchAlreadyExists. Answers 201 with an `Invalidation` document.
 */
export async function startCloudFrontApi(options: CloudFrontApiOptions): Promise<CloudFrontApi> {
  const credentials = { accessKeyId: 'AKIDLOCALCLOUDFRONT', secretAccessKey: `secret-${randomUUID()}` };
  const invalidations: LocalInvalidation[] = [];
  const service = await startLocalService({
    handle(req, ctx): Answer {
      const refuse = (status: number, code: string, message: string) => {
        ctx.violation(message);
        return errorAnswer(status, code, message);
      };
      const route = /^\/2020-05-31\/distribution\/([^/?]+)\/invalidation$/.exec(req.target);
      if (req.method !== 'POST' || !route) return refuse(404, 'NotFound', `no operation ${req.method} ${req.target}`);
      const sig = checkSigV4(req, credentials);
      if (sig === 'unknown key') return errorAnswer(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      if (sig) return refuse(403, 'SignatureDoesNotMatch', sig);
      if (!String(req.headers['content-type']).startsWith('application/xml'))
        return refuse(415, 'MissingBody', 'Content-Type must be application/xml');
      if (decodeURIComponent(route[1]!) !== options.distributionId)
        return errorAnswer(404, 'NoSuchDistribution', 'The specified distribution does not exist.');
      const batch = parseBatch(req.body.toString('utf8'));
      if (typeof batch === 'string') return refuse(400, 'InvalidArgument', batch);
      const badPath = batch.paths.find((p) => !/^\/[!-~]*$/.test(p) || /["<>{}|\\^`]/.test(p) || p.slice(0, -1).includes('*'));
      if (badPath !== undefined) return refuse(400, 'InvalidArgument', `invalid path ${JSON.stringify(badPath)}`);
      ctx.target(...batch.paths.map((p) => `url:${p}`));

      const now = Date.now();
      const same = invalidations.find((i) => i.callerReference === batch.callerReference);
      if (same && same.paths.join('\n') !== batch.paths.join('\n')) {
        return refuse(409, 'InvalidationBatchAlreadyExists', 'CallerReference reused for a different batch');
      }
      const wild = batch.paths.filter((p) => p.endsWith('*')).length;
      const files = batch.paths.length - wild;
      if (files > 3000 || wild > 15)
        return refuse(400, 'TooManyInvalidationsInProgress', `one batch holds ${files} paths and ${wild} wildcards`);
      const running = invalidations.filter((i) => i.completesAt > now && i !== same);
      const runningWild = running.reduce((n, i) => n + i.paths.filter((p) => p.endsWith('*')).length, 0);
      const runningFiles = running.reduce((n, i) => n + i.paths.length, 0) - runningWild;
      if (!same && (runningFiles + files > 3000 || runningWild + wild > 15)) {
        return errorAnswer(400, 'TooManyInvalidationsInProgress', 'Your request contains too many invalidations.');
      }
      const inv = same ?? {
        id: `I${randomUUID().replace(/-/g, '').slice(0, 13).toUpperCase()}`,
        callerReference: batch.callerReference,
        paths: batch.paths,
        createdAt: now,
        completesAt: now + (options.completeAfterMs ?? 0),
      };
      if (!same) invalidations.push(inv);
      const items = inv.paths.map((p) => `<Path>${xmlEscape(p)}</Path>`).join('');
      return {
        status: 201,
        headers: {
          'content-type': 'text/xml',
          location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${options.distributionId}/invalidation/${inv.id}`,
        },
        body:
          `<?xml version="1.0"?>\n<Invalidation xmlns="${NS}"><Id>${inv.id}</Id><Status>InProgress</Status>` +
          `<CreateTime>${new Date(inv.createdAt).toISOString()}</CreateTime><InvalidationBatch><Paths><Quantity>${inv.paths.length}</Quantity>` +
          `<Items>${items}</Items></Paths><CallerReference>${xmlEscape(inv.callerReference)}</CallerReference></InvalidationBatch></Invalidation>`,
      };
    },
    unavailable: () => errorAnswer(503, 'ServiceUnavailable', 'Service Unavailable', 'Receiver'),
    // CloudFront's throttling answer does not say how long to wait.
    throttled: { waitMs: undefined, answer: () => errorAnswer(400, 'Throttling', 'Rate exceeded') },
  });
  return Object.assign(service, { invalidations, credentials });
}
