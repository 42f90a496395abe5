import { createServer } from 'node:http';

/** What the origin answers for one path. */
export interface OriginObject {
  body: string;
  cacheControl?: string;
  /** Sent as `Surrogate-Key` (space-separated), as the storage origin will. */
  surrogateKey?: string;
}

/** A node:http origin for Varnish tests: objects set per path, fetches counted per path. */
export interface TestOrigin {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  set(path: string, object: OriginObject): void;
  /** How many times Varnish fetched `path`. */
  hits(path: string): number;
  close(): Promise<void>;
}

/** Start the origin on 127.0.0.1 (port 0). Unknown paths answer 404, uncacheable. */
export async function startTestOrigin(): Promise<TestOrigin> {
  const objects = new Map<string, OriginObject>();
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const object = objects.get(path);
    if (!object) return void res.writeHead(404, { 'cache-control': 'no-store' }).end('not found');
    res.writeHead(200, {
      'content-type': 'text/plain',
      ...(object.cacheControl ? { 'cache-control': object.cacheControl } : {}),
      ...(object.surrogateKey ? { 'surrogate-key': object.surrogateKey } : {}),
    });
    res.end(object.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    set: (path, object) => void objects.set(path, object),
    hits: (path) => hits.get(path) ?? 0,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
