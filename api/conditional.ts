import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';

/**
 * Conditional requests (RFC 9110 §13): ETags on JSON reads, `If-None-Match` → 304, and
 * `If-Match` / `If-None-Match` on writes → 412, so an editor cannot overwrite a change it never saw.
 */

/** One entity-tag of a header: its quoted opaque part, and whether it came with `W/`. */
interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** `W/"x"` or `"x"`; the opaque part may hold commas (etagc), so a list is scanned, not split. */
const ENTITY_TAG = /\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/y;

/**
 * An `If-Match` / `If-None-Match` value: `*`, or its entity-tags. A list that does not parse (an
 * unquoted tag, say) keeps the tags read before the fault: none of those can match by accident.
 */
export function parseEntityTags(header: string): '*' | EntityTag[] {
  if (header.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < header.length) {
    const match = ENTITY_TAG.exec(header);
    if (!match) break;
    tags.push({ weak: match[1] !== undefined, opaque: match[2]! });
  }
  return tags;
}

/** The one tag of an ETag we send. */
const tagOf = (etag: string): EntityTag | undefined => {
  const tags = parseEntityTags(etag);
  return tags === '*' ? undefined : tags[0];
};

/** Weak comparison (RFC 9110 §8.8.3.2): the opaque parts match, `W/` on either side ignored. */
export function weaklyMatches(header: string, etag: string): boolean {
  const tags = parseEntityTags(header);
  if (tags === '*') return true;
  const current = tagOf(etag);
  return current !== undefined && tags.some((t) => t.opaque === current.opaque);
}

/** Strong comparison: neither tag weak, and the opaque parts match. `*` matches whatever exists. */
export function stronglyMatches(header: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  const tags = parseEntityTags(header);
  if (tags === '*') return true;
  const current = tagOf(etag);
  return current !== undefined && !current.weak && tags.some((t) => !t.weak && t.opaque === current.opaque);
}

/**
 * The preconditions of a write (PUT, DELETE) against the resource's current ETag (`undefined`:
 * it does not exist), in RFC 9110 §13.2.2's order: `If-Match` must match strongly (`*`: it must
 * exist); then `If-None-Match` must not match (`*`: it must not exist). Throws 412 otherwise.
 */
export function checkWritePreconditions(request: FastifyRequest, current: string | undefined): void {
  const ifMatch = request.headers['if-match'];
  if (ifMatch !== undefined && !stronglyMatches(ifMatch, current)) {
    throw new AppError(
      'PRECONDITION_FAILED',
      current === undefined
        ? 'If-Match names a version, and there is none: it was deleted, or never made.'
        : `If-Match does not name the current version (${current}): someone changed it since you read it. Read it again.`,
      { etag: current ?? null },
    );
  }
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && current !== undefined && weaklyMatches(ifNoneMatch, current)) {
    throw new AppError('PRECONDITION_FAILED', `If-None-Match: ${ifNoneMatch} and it exists (${current}).`, { etag: current });
  }
}

/** A strong ETag from a version string the resource already carries (a template's sha256). */
export const strongEtag = (version: string) => `"${version}"`;

/**
 * A weak ETag of a serialized JSON body. Weak because it names the content, not a stored version:
 * two equal bodies get the same tag whatever produced them, which is all If-None-Match needs.
 */
const weakEtagOf = (body: string) => `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

/**
 * A route's onSend hook for JSON reads: tags a 200 with an ETag (the route's own, e.g. a version,
 * or a weak hash of the body) and answers 304 with no body when `If-None-Match` matches it weakly.
 */
export async function conditionalRead(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
  const given = reply.getHeader('etag');
  const etag = typeof given === 'string' ? given : weakEtagOf(payload);
  reply.header('etag', etag);
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch === undefined || !weaklyMatches(ifNoneMatch, etag)) return payload;
  reply.code(304).removeHeader('content-type').removeHeader('content-length');
  return null;
}

const ETAG_HEADER = {
  type: 'string',
  description: 'The version of this representation; send it back as If-None-Match (reads) or If-Match (writes).',
};

/** A 200 schema that declares its ETag header in the API document. */
export const withEtag = <S extends z.ZodType>(schema: S) => schema.meta({ headers: { ETag: ETAG_HEADER } }) as S;

/** The 304 a conditional read answers: no body, the same ETag. */
export const notModifiedSchema = z.null().meta({
  description: 'Not modified: If-None-Match names the current ETag (weak comparison; `*` matches anything). No body.',
  headers: { ETag: ETAG_HEADER },
});
