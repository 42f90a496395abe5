import { Ajv, type ValidateFunction } from 'ajv';

/* The document is plain JSON, walked by key. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface Route {
  template: string;
  pattern: RegExp;
  params: number;
  item: Json;
}

/**
 * Checks an answer against the OpenAPI document the service itself serves: its status is one the
 * operation declares, its declared required headers are there, its media type is declared, and a
 * JSON body matches the schema (ajv, `$ref`s resolved in the document). Returns what is wrong, as
 * readable lines (route, status, JSON pointer, message), or nothing.
 */
export class ResponseValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly routes: Route[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: Json) {
    this.ajv.addSchema(toDraft7(structuredClone(doc)), 'openapi.json');
    // Static segments before parameters, as the router matches them (`/v1/assets/from-url` is not `{id}`).
    this.routes = Object.entries<Json>(doc.paths ?? {})
      .map(([template, item]) => {
        const params = (template.match(/\{/g) ?? []).length;
        const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+');
        return { template, pattern: new RegExp(`^${source}$`), params, item };
      })
      .sort((a, b) => a.params - b.params);
  }

  /** The operation a request reached, or undefined when the document does not describe its path and method. */
  operation(method: string, pathname: string): { key: string; pointer: string; op: Json } | undefined {
    const lower = method.toLowerCase();
    const route = this.routes.find((r) => r.pattern.test(pathname) && r.item[lower]);
    if (!route || !METHODS.includes(lower)) return undefined;
    return {
      key: `${method.toUpperCase()} ${route.template}`,
      pointer: `#/paths/${escape(route.template)}/${lower}`,
      op: route.item[lower],
    };
  }

  /** What is wrong with this answer (`body` is its text, undefined when it was not read: streams, images). */
  check(method: string, pathname: string, status: number, headers: Headers, body: string | undefined): string[] {
    const found = this.operation(method, pathname);
    if (!found) return [];
    const where = `${found.key} → ${status}`;
    const responses: Record<string, Json> = found.op.responses ?? {};
    const statusKey = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k]);
    if (!statusKey) return [`${where}: status ${status} is not declared (declared: ${Object.keys(responses).join(', ')})`];
    const response = this.deref(responses[statusKey]);
    const problems: string[] = [];
    for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
      const declared = this.deref(header);
      const value = headers.get(name);
      if (value === null) {
        if (declared.required) problems.push(`${where}: required header ${name} is missing`);
      } else if (declared.schema?.type === 'integer' && !/^\d+$/.test(value)) {
        problems.push(`${where}: header ${name} is "${value}", not an integer`);
      }
    }
    const content: Record<string, Json> | undefined = response.content;
    const type = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!content || Object.keys(content).length === 0) {
      if (body) problems.push(`${where}: no body is declared, but one came (${type || 'no type'}, ${body.length} characters)`);
      return problems;
    }
    if (!content[type]) {
      problems.push(`${where}: media type "${type}" is not declared (declared: ${Object.keys(content).join(', ')})`);
      return problems;
    }
    if (body === undefined || !isJson(type)) return problems;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return [...problems, `${where}: the ${type} body is not JSON: ${body.slice(0, 120)}`];
    }
    const pointer = `${found.pointer}/responses/${statusKey}/content/${escape(type)}/schema`;
    const validate = this.validator(pointer);
    if (!validate(parsed)) {
      for (const error of validate.errors ?? []) {
        problems.push(
          `${where} (${type}): body${error.instancePath || ''} ${error.message}${error.params && Object.keys(error.params).length ? ` ${JSON.stringify(error.params)}` : ''}`,
        );
      }
    }
    return problems;
  }

  /** Compiled once per response schema; its `$ref`s resolve inside the document (responses themselves are inline). */
  private validator(pointer: string): ValidateFunction {
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi.json${pointer}` });
      this.compiled.set(pointer, validate);
    }
    return validate;
  }

  private deref(node: Json): Json {
    let current = node;
    for (let hops = 0; current?.$ref && hops < 10; hops++) {
      current = String(current.$ref)
        .replace(/^#\//, '')
        .split('/')
        .map(unescape)
        .reduce((at: Json, key) => at?.[key], this.doc);
    }
    return current;
  }
}

/** OpenAPI 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` (draft 4) as the numbers ajv's draft 7 reads. */
function toDraft7(node: Json): Json {
  if (Array.isArray(node)) node.forEach(toDraft7);
  else if (typeof node === 'object' && node !== null) {
    for (const [exclusive, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (typeof node[exclusive] !== 'boolean') continue;
      if (node[exclusive]) node[exclusive] = node[bound];
      else delete node[exclusive];
      if (node[exclusive] !== undefined) delete node[bound];
    }
    Object.values(node).forEach(toDraft7);
  }
  return node;
}

const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');
const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1').replace(/\{/g, '%7B').replace(/\}/g, '%7D');
const unescape = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');
