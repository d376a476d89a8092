/**
 * Test doubles shared by the unit tests: a scripted upstream `fetch`, API Gateway REST proxy events,
 * a Lambda context, and a capture of what the Powertools Logger prints.
 */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { vi } from 'vitest';
import { ConnectorError } from '../../functions/shared/errors.js';
import { connectorProxyEvent, lambdaContext as makeLambdaContext } from '../../local/lambda-events.js';

/** One scripted upstream answer. */
export interface UpstreamAnswer {
  /** @default 200 */
  status?: number;
  /** A string is sent as `text/plain`, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A request the fake upstream received, copied at the moment it was sent. */
export interface ReceivedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

/** What the fake upstream does for one request: answer, or run a function (which may throw). */
export type UpstreamStep = UpstreamAnswer | ((request: ReceivedRequest) => Response | Promise<Response>);

/** A `Response` as a vendor would send it. */
export function upstreamResponse(answer: UpstreamAnswer = {}): Response {
  const headers = new Headers(answer.headers);
  let body: string | null = null;
  if (typeof answer.body === 'string') {
    body = answer.body;
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
  } else if (answer.body !== undefined) {
    body = JSON.stringify(answer.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return new Response(body, { status: answer.status ?? 200, headers });
}

/**
 * A fake `fetch` that plays `steps` in order (the last one repeats) and records every request.
 * Requests are copied when sent: the client may reuse its URL object between redirects.
 */
export function scriptedFetch(...steps: UpstreamStep[]) {
  const requests: ReceivedRequest[] = [];
  const fetch = vi.fn<typeof globalThis.fetch>(async (input, init) => {
    const request: ReceivedRequest = {
      url: input instanceof Request ? input.url : String(input),
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : undefined,
      signal: init?.signal ?? undefined,
    };
    requests.push(request);
    const step = steps[Math.min(requests.length - 1, steps.length - 1)];
    if (step === undefined) throw new Error('scriptedFetch needs at least one step');
    return typeof step === 'function' ? step(request) : upstreamResponse(step);
  });
  return { fetch, requests };
}

/** An upstream that never answers; it rejects only when the request's signal aborts (as fetch does). */
export function neverAnswers(request: ReceivedRequest): Promise<Response> {
  return new Promise((_resolve, reject) => {
    const { signal } = request;
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The error undici's fetch rejects with when the socket fails with `code`. */
export function networkError(code: 'ECONNREFUSED' | 'ECONNRESET' | 'ENOTFOUND'): TypeError {
  const cause = Object.assign(new Error(`connect ${code} 203.0.113.10:443`), { code });
  return new TypeError('fetch failed', { cause });
}

/** The {@link ConnectorError} `promise` rejects with; fails the test when it resolves or throws anything else. */
export async function connectorErrorOf(promise: Promise<unknown>): Promise<ConnectorError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    if (error instanceof ConnectorError) return error;
    throw error;
  }
  throw new Error(`Expected a ConnectorError, but the call succeeded with ${JSON.stringify(value)}`);
}

/** Tracks whether a promise has settled yet, without letting a rejection go unhandled. */
export function track<T>(promise: Promise<T>): {
  readonly settled: boolean;
  readonly result: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;
} {
  let settled = false;
  const result = promise.then(
    (value) => {
      settled = true;
      return { ok: true as const, value };
    },
    (error: unknown) => {
      settled = true;
      return { ok: false as const, error };
    },
  );
  return {
    get settled() {
      return settled;
    },
    result,
  };
}

/** One JSON line the Powertools Logger printed. */
export type LogLine = Record<string, unknown> & { level?: string; message?: string };

/**
 * Captures (and silences) what is written to stdout and stderr, where the Powertools Logger prints
 * its JSON lines; `lines()` parses them, `text()` is everything raw.
 */
export function captureOutput(): { lines(): LogLine[]; text(): string } {
  const chunks: string[] = [];
  const capture = ((chunk: unknown, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const text = () => chunks.join('');
  return {
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine),
  };
}

/** Options of {@link apiGatewayEvent}. */
export interface EventOptions {
  connector?: string;
  operation?: string;
  /** A string is sent as is (e.g. malformed JSON); anything else as JSON; `null` for no body. */
  body?: unknown;
  headers?: Record<string, string>;
  requestId?: string;
}

/** An API Gateway REST proxy event for `POST /v1/connectors/{connector}/{operation}`. */
export function apiGatewayEvent(options: EventOptions = {}): APIGatewayProxyEvent {
  return connectorProxyEvent({
    connector: options.connector ?? 'httpbin',
    operation: options.operation ?? 'request',
    headers: Object.entries({ 'content-type': 'application/json', ...options.headers }),
    body: jsonBody(options.body),
    requestId: options.requestId ?? 'req-0001',
    sourceIp: '203.0.113.1',
    stage: 'test',
  });
}

/** A string is sent as is (e.g. malformed JSON); anything else as JSON; `null`/`undefined` for no body. */
export function jsonBody(body: unknown): string | null {
  if (body === null || body === undefined) return null;
  return typeof body === 'string' ? body : JSON.stringify(body);
}

/** A Lambda context with `remainingMs` left, counted from when it is created. */
export function lambdaContext(remainingMs = 29_000): Context {
  return makeLambdaContext('connector-test', remainingMs);
}
