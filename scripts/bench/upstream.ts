/**
 * The loopback upstream of `npm run bench`: a `node:http` server in the bench process answering a
 * small JSON body on every path, `503` under `/fail`, and a 200 MB body under `/big`. It runs in
 * the same process as the contenders so every contender pays the same share of its CPU.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The small JSON answer (63 bytes). */
export const SMALL_BODY = JSON.stringify({ ok: true, items: [{ id: 1, name: 'example' }], next: null });

/** Bytes of the `/big` body. */
export const BIG_BODY_BYTES = 200 * 1024 * 1024;

/** A running upstream. */
export interface Upstream {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Requests received so far. */
  requests: number;
  close(): Promise<void>;
}

/** Starts the upstream on a free loopback port. */
export async function startUpstream(): Promise<Upstream> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    req.resume();
    if (req.url?.startsWith('/fail')) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
      return;
    }
    if (req.url?.startsWith('/big')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(BIG_BODY_BYTES) });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < BIG_BODY_BYTES) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => {
        sent = BIG_BODY_BYTES;
      });
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(SMALL_BODY);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    set requests(value: number) {
      state.requests = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
