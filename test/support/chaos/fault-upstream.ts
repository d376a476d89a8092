/**
 * The fault upstream of the chaos suite: one loopback `node:http` server whose behaviour is chosen
 * per request by its path, `/fault/{fault}` (see {@link UPSTREAM_FAULTS}), and that records every
 * request it receives, keyed by the caller's side-effect id (the `Idempotency-Key` the http
 * connector forwards: the caller's key on the API path, the event id on the asynchronous path).
 *
 * A **repeated side effect** is a POST that reaches the upstream with a side-effect id for which the
 * upstream had already answered a whole 2xx (status and complete body, readable or not): the vendor
 * acted once, the suite made it act again. A 2xx cut off mid-body (a reset, a slow drip) does not
 * count: the caller could not know it succeeded.
 *
 * A second origin, {@link FaultUpstream.elsewhereUrl}, receives the cross-origin redirects; every
 * request reaching it, or reaching a path outside `/fault`, is an **escaped** request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { listenOnLoopback } from '../../../local/stand-ins/server.js';

/** The path prefix the chaos connector may reach; every fault lives under it. */
export const FAULT_PATH_PREFIX = '/fault';

/** How a fault applies to the requests of one side-effect id. */
export type FaultMode =
  /** Every request gets the fault. */
  | 'always'
  /** The first request of each side-effect id gets the fault; later ones are answered normally. */
  | 'first'
  /** The first three requests of each side-effect id (one whole call of 3 attempts) get the fault. */
  | 'first-three';

/** What the upstream does for a fault, as documented in docs/fault-suite.md. */
export const UPSTREAM_FAULTS = {
  /** Answers 200 `{"ok": true}` at once (the normal answer of every fault after its first request). */
  ok: 'answers 200 JSON at once',
  'reset-before-headers': 'closes the connection before sending any header',
  'reset-mid-body': 'sends 200 headers and half a JSON body, then resets the connection',
  'stall-before-headers': 'reads the request and never answers',
  'slow-drip': 'sends 200 headers, then one body byte every 100 ms for ever',
  'slow-whole-body': 'sends a whole 200 JSON body, its second half 600 ms after the first',
  'invalid-json': 'answers 200 with `application/json` that is not JSON',
  'oversized-body': 'answers 200 with a 6 MiB JSON body (over the 5 MiB response limit)',
  'gzip-bomb': 'answers 200 `content-encoding: gzip` that inflates to 64 MiB of zeros',
  'redirect-loop': 'answers 302 to itself, for ever',
  'redirect-cross-origin': 'answers 302 to another origin (which records what reaches it)',
  'redirect-outside-prefix': 'answers 302 to `/admin`, outside the allowed path prefixes',
  'unauthorized-forever': 'answers 401 to every request',
  'rate-limited-huge-retry-after': 'answers 429 with `Retry-After: 999999999`',
  'rate-limited-past-retry-after': 'answers 429 with an HTTP-date `Retry-After` in the past',
  'rate-limited-http-date-retry-after': 'answers 429 with an HTTP-date `Retry-After` 1 s ahead',
  'unavailable-huge-retry-after': 'answers 503 with `Retry-After: 999999999`',
  'unavailable-past-retry-after': 'answers 503 with an HTTP-date `Retry-After` in the past',
  'unavailable-http-date-retry-after': 'answers 503 with an HTTP-date `Retry-After` 1 s ahead',
  'unavailable-three-times': 'answers 503 without `Retry-After` to the first three requests of a call',
} as const;

/** The name of an upstream fault. */
export type UpstreamFault = keyof typeof UPSTREAM_FAULTS;

/** One request the fault upstream received. */
export interface FaultRequest {
  method: string;
  path: string;
  /** The side-effect id: the `Idempotency-Key` header, when sent. */
  sideEffectId: string | undefined;
  /** The upstream had already answered a whole 2xx for this side-effect id (a repeated side effect). */
  repeated: boolean;
  /** Outside `/fault`, or on the other origin. */
  escaped: boolean;
  /** The `Authorization` header received (to check credentials on redirect hops). */
  authorization: string | undefined;
}

/** A running fault upstream. */
export interface FaultUpstream {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The other origin of cross-origin redirects. */
  elsewhereUrl: string;
  /** Every request received by either origin, in order. */
  readonly requests: readonly FaultRequest[];
  /** Requests received since `mark` (an index into {@link requests}). */
  since(mark: number): FaultRequest[];
  /** Stops both servers and destroys every open connection (stalled answers included). */
  close(): Promise<void>;
}

/** The upstream's answer to a normal request: the side effect happened. */
function answerOk(res: ServerResponse, sideEffectId: string | undefined, done: () => void): void {
  done();
  const body = JSON.stringify({ ok: true, sideEffectId: sideEffectId ?? null });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

let gzipBomb: Buffer | undefined;
/** 64 MiB of zeros, gzipped (about 64 KiB); made on first use. */
function gzipBombBody(): Buffer {
  gzipBomb ??= gzipSync(Buffer.alloc(64 * 1024 * 1024));
  return gzipBomb;
}
/** Over the client's 5 MiB response limit; a Buffer, so that sending it costs no encoding. */
const OVERSIZED_BODY = Buffer.from(`{"padding":"${'x'.repeat(6 * 1024 * 1024)}"}`);
const HUGE_RETRY_AFTER = '999999999';

function httpDate(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toUTCString();
}

/**
 * Starts the fault upstream on 127.0.0.1 (two free ports).
 * @param options.mode - how each fault applies by side-effect id; @default `first` for the
 *   transient faults (resets, stalls, 429 and 503) and `always` for the others (see {@link defaultMode})
 */
export async function startFaultUpstream(
  options: { mode?: (fault: UpstreamFault) => FaultMode } = {},
): Promise<FaultUpstream> {
  const requests: FaultRequest[] = [];
  /** Side-effect ids the upstream answered a whole 2xx to (marked as the answer starts). */
  const completed = new Set<string>();
  /** Requests seen per fault and side-effect id. */
  const seen = new Map<string, number>();
  const modeOf = options.mode ?? defaultMode;
  // Made now, not while a call under test shares the event loop.
  gzipBombBody();

  const elsewhere = await listen(
    createServer((req, res) => {
      requests.push(record(req, true));
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"stolen":true}');
    }),
  );

  function record(req: IncomingMessage, escaped: boolean): FaultRequest {
    const sideEffectId = headerValue(req, 'idempotency-key');
    const path = new URL(req.url ?? '/', 'http://upstream').pathname;
    return {
      method: req.method ?? '',
      path,
      sideEffectId,
      repeated: req.method === 'POST' && sideEffectId !== undefined && completed.has(sideEffectId),
      escaped: escaped || !(path === FAULT_PATH_PREFIX || path.startsWith(`${FAULT_PATH_PREFIX}/`)),
      authorization: headerValue(req, 'authorization'),
    };
  }

  const main = await listen(
    createServer((req, res) => {
      const request = record(req, false);
      requests.push(request);
      // Read the whole request first: a reset must come after the request reached the vendor.
      req.resume();
      req.on('end', () => {
        const name = request.path.slice(FAULT_PATH_PREFIX.length + 1) as UpstreamFault;
        const fault: UpstreamFault | 'escaped' = request.escaped
          ? 'escaped'
          : Object.hasOwn(UPSTREAM_FAULTS, name)
            ? name
            : 'ok';
        const seenKey = `${fault}\n${request.sideEffectId ?? ''}`;
        const count = (seen.get(seenKey) ?? 0) + 1;
        seen.set(seenKey, count);
        const done = () => {
          if (request.sideEffectId !== undefined && request.method === 'POST')
            completed.add(request.sideEffectId);
        };
        if (fault === 'ok' || fault === 'escaped' || !faultApplies(modeOf(fault), count)) {
          answerOk(res, request.sideEffectId, done);
        } else inject(fault, req, res, main.url, elsewhere.url, done);
      });
    }),
  );

  return {
    url: main.url,
    elsewhereUrl: elsewhere.url,
    requests,
    since: (mark) => requests.slice(mark),
    close: async () => {
      await Promise.all([main.close(), elsewhere.close()]);
    },
  };
}

function faultApplies(mode: FaultMode, count: number): boolean {
  if (mode === 'always') return true;
  return count <= (mode === 'first' ? 1 : 3);
}

/** The default {@link FaultMode} of each fault. */
export function defaultMode(fault: UpstreamFault): FaultMode {
  switch (fault) {
    case 'reset-before-headers':
    case 'reset-mid-body':
    case 'stall-before-headers':
    case 'slow-drip':
    case 'slow-whole-body':
    case 'rate-limited-huge-retry-after':
    case 'rate-limited-past-retry-after':
    case 'rate-limited-http-date-retry-after':
    case 'unavailable-huge-retry-after':
    case 'unavailable-past-retry-after':
    case 'unavailable-http-date-retry-after':
      return 'first';
    case 'unavailable-three-times':
      return 'first-three';
    default:
      return 'always';
  }
}

function inject(
  fault: UpstreamFault,
  req: IncomingMessage,
  res: ServerResponse,
  ownUrl: string,
  elsewhereUrl: string,
  done: () => void,
): void {
  const json = { 'content-type': 'application/json' };
  switch (fault) {
    case 'ok':
      answerOk(res, undefined, done);
      return;
    case 'reset-before-headers':
      req.socket.resetAndDestroy();
      return;
    case 'reset-mid-body': {
      res.writeHead(200, { ...json, 'content-length': '64' });
      res.write('{"ok": true, "items": [1, 2,', () => req.socket.resetAndDestroy());
      return;
    }
    case 'stall-before-headers':
      // Never answers; close() destroys the socket.
      return;
    case 'slow-drip': {
      res.writeHead(200, json);
      const timer = setInterval(() => {
        if (res.destroyed || req.socket.destroyed) clearInterval(timer);
        else res.write(' ');
      }, 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case 'slow-whole-body': {
      // The vendor acted and sends its whole answer, only slower than the connector's attempt timeout.
      done();
      const body = JSON.stringify({ ok: true, padding: 'x'.repeat(64) });
      res.writeHead(200, { ...json, 'content-length': Buffer.byteLength(body) });
      const half = Math.floor(body.length / 2);
      res.write(body.slice(0, half));
      const timer = setTimeout(() => res.end(body.slice(half)), 600);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case 'invalid-json':
      done();
      res.writeHead(200, json);
      res.end('{"ok": true, "items": [1, 2,}');
      return;
    case 'oversized-body':
      done();
      res.writeHead(200, json);
      res.end(OVERSIZED_BODY);
      return;
    case 'gzip-bomb':
      done();
      res.writeHead(200, { ...json, 'content-encoding': 'gzip', 'content-length': gzipBombBody().length });
      res.end(gzipBombBody());
      return;
    case 'redirect-loop':
      res.writeHead(302, { location: `${ownUrl}${FAULT_PATH_PREFIX}/redirect-loop` });
      res.end();
      return;
    case 'redirect-cross-origin':
      res.writeHead(302, { location: `${elsewhereUrl}/collect` });
      res.end();
      return;
    case 'redirect-outside-prefix':
      res.writeHead(302, { location: '/admin' });
      res.end();
      return;
    case 'unauthorized-forever':
      res.writeHead(401, { ...json, 'www-authenticate': 'Bearer' });
      res.end('{"error":"unauthorized"}');
      return;
    case 'rate-limited-huge-retry-after':
      answerStatus(res, 429, HUGE_RETRY_AFTER);
      return;
    case 'rate-limited-past-retry-after':
      answerStatus(res, 429, httpDate(-3_600_000));
      return;
    case 'rate-limited-http-date-retry-after':
      answerStatus(res, 429, httpDate(1_000));
      return;
    case 'unavailable-huge-retry-after':
      answerStatus(res, 503, HUGE_RETRY_AFTER);
      return;
    case 'unavailable-past-retry-after':
      answerStatus(res, 503, httpDate(-3_600_000));
      return;
    case 'unavailable-http-date-retry-after':
      answerStatus(res, 503, httpDate(1_000));
      return;
    case 'unavailable-three-times':
      res.writeHead(503, json);
      res.end('{"error":"unavailable"}');
      return;
  }
}

function answerStatus(res: ServerResponse, status: number, retryAfter: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'retry-after': retryAfter });
  res.end(JSON.stringify({ error: status === 429 ? 'slow down' : 'unavailable' }));
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  const { origin, close } = await listenOnLoopback(server);
  return { url: origin, close };
}
