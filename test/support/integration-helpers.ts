import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseSuiteConfig, type SuiteConfig } from '../../functions/shared/config.js';
import { LocalFileCredentialStore } from '../../functions/shared/credentials/local-file.js';
import type { ErrorBody } from '../../functions/shared/errors.js';
import type { SuccessBody } from '../../functions/shared/runtime/index.js';
import { connectorProxyEvent, lambdaContext as makeLambdaContext } from '../../local/lambda-events.js';

/** The project's example token (obviously fake); httpbin's `/bearer` accepts it. */
export const EXAMPLE_TOKEN = 'tok-example';

/** Parses a suite config the way `npm start` does (loopback http allowed). */
export function suiteConfig(value: unknown): SuiteConfig {
  return parseSuiteConfig(value, 'test', { allowLoopbackHttp: true });
}

/** A temporary local secrets file and a credential store over it. */
export interface TempSecrets {
  file: string;
  store: LocalFileCredentialStore;
  /** Removes the file and its directory. */
  cleanup(): Promise<void>;
}

/** Writes `secrets` (default `{"httpbin": {"token": "tok-example"}}`) to a temporary JSON file. */
export async function writeTempSecrets(
  secrets: Record<string, Record<string, string>> = { httpbin: { token: EXAMPLE_TOKEN } },
): Promise<TempSecrets> {
  const dir = await mkdtemp(path.join(tmpdir(), 'connector-suite-it-'));
  const file = path.join(dir, 'secrets.json');
  await writeFile(file, JSON.stringify(secrets));
  return {
    file,
    store: new LocalFileCredentialStore(file),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The `data` of the http connector's `request` operation. */
export interface RequestOutput<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

/** Either envelope of docs/design.md §3, as a caller reads it. */
export interface Envelope<T = unknown> {
  data?: RequestOutput<T>;
  meta?: SuccessBody['meta'];
  error?: ErrorBody['error'];
}

/** What httpbin's `/anything`, `/post` and friends echo back. */
export interface HttpbinEcho {
  method: string;
  url: string;
  headers: Record<string, string>;
  json: unknown;
}

/** Options of {@link proxyEvent}. */
export interface ProxyEventOptions {
  connector: string;
  operation?: string;
  /** Sent as the JSON body; a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** The API Gateway REST proxy event of `POST /v1/connectors/{connector}/{operation}`. */
export function proxyEvent(options: ProxyEventOptions): APIGatewayProxyEvent {
  return connectorProxyEvent({
    connector: options.connector,
    operation: options.operation ?? 'request',
    headers: Object.entries({
      'content-type': 'application/json',
      'user-agent': 'integration-test',
      ...options.headers,
    }),
    body:
      options.body === undefined
        ? null
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    stage: 'test',
  });
}

/** A Lambda context whose remaining time counts down from `timeoutMs`. */
export function lambdaContext(timeoutMs = 29_000): Context {
  return makeLambdaContext('connector-suite-integration', timeoutMs);
}

/** A handler's answer, with its body parsed. */
export interface ParsedResult<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: Envelope<T>;
}

/** Parses a handler's result (headers lower-cased). */
export function parseResult<T = unknown>(result: APIGatewayProxyResult): ParsedResult<T> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  return { status: result.statusCode, headers, body: JSON.parse(result.body) as Envelope<T> };
}

/** One request an in-test server received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/** A node:http server on 127.0.0.1 that records what it receives. */
export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every request received, in order. */
  requests: ReceivedRequest[];
  /** Closes the server and destroys every connection still open (stalled responses included). */
  close(): Promise<void>;
}

/**
 * Starts a node:http server on 127.0.0.1:0 that records each request, then lets `handle` answer it.
 * `count` is the 1-based number of the request among those with the same path.
 */
export async function startTestServer(
  handle: (req: IncomingMessage, res: ServerResponse, count: number) => void | Promise<void>,
): Promise<TestServer> {
  const requests: ReceivedRequest[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const count = (counts.get(pathname) ?? 0) + 1;
    counts.set(pathname, count);
    Promise.resolve(handle(req, res, count)).catch(() => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Answers `status` with a JSON body and extra headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** What the process printed while a {@link captureOutput} was active. */
export interface CapturedOutput {
  /** Everything written to stdout and stderr so far, in order. */
  text(): string;
  /** The non-empty lines written so far. */
  lines(): string[];
  /** Puts the original `write` methods back. */
  restore(): void;
}

/**
 * Captures everything written to `process.stdout` and `process.stderr` (Powertools Logger writes
 * there through its own `Console`). The output is kept, not printed, unless `INTEGRATION_LOGS=1`.
 * Patches `write` directly rather than with `vi.spyOn`, which `restoreMocks` undoes after each test.
 */
export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const echo = process.env.INTEGRATION_LOGS === '1';
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const original = originals[i] as typeof stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      if (echo) return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  });
  return {
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== ''),
    restore() {
      streams.forEach((stream, i) => {
        stream.write = originals[i] as typeof stream.write;
      });
    },
  };
}

/** A `fetch` that records every URL it is asked for and delegates to the real one. */
export interface CountingFetch {
  fetch: typeof fetch;
  /** The URLs requested, in order. */
  calls: string[];
}

/** Wraps `globalThis.fetch` in a recorder (a plain function: `restoreMocks` cannot reset it). */
export function countingFetch(): CountingFetch {
  const calls: string[] = [];
  const wrapped: typeof fetch = (input, init) => {
    calls.push(input instanceof Request ? input.url : String(input));
    return globalThis.fetch(input, init);
  };
  return { fetch: wrapped, calls };
}

/** Waits `ms` (to let a breaker's open time pass; never used to assert durations). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
