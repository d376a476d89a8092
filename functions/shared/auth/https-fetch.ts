/**
 * A `fetch` over one `node:https` Agent: what the `mtls` scheme sends its connector's requests
 * with, so that only that connector's connections carry its client certificate. It does what the
 * HTTP client asks of `fetch` and no more: a string body or none, `redirect: 'manual'` (it never
 * follows one), `signal`, and a streamed response. Node's own modules only: the npm `undici` (whose
 * `Agent` would do the same as a `dispatcher`) would add 290 to 540 KB to every connector's bundle.
 */
import { type Agent, request } from 'node:https';
import { Readable } from 'node:stream';

/** Statuses whose response has no body (RFC 9110 §6.4.1). */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/** An Agent's connections, with the requests under way counted so that it can be closed once idle. */
export interface AgentFetch {
  fetch: typeof fetch;
  /** Closes the Agent's connections once the requests under way have ended; later requests fail. */
  retire(): void;
}

/**
 * A `fetch` whose requests go through `agent`.
 * @throws TypeError (rejected) for a URL that is not https or a body that is not a string
 */
export function agentFetch(agent: Agent): AgentFetch {
  let inFlight = 0;
  let retired = false;
  const ended = () => {
    inFlight -= 1;
    if (retired && inFlight === 0) agent.destroy();
  };
  const send = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const body = init.body ?? undefined;
      if (url.protocol !== 'https:' || (body !== undefined && typeof body !== 'string') || retired) {
        reject(new TypeError('This fetch sends string bodies over https only, on a current Agent.'));
        return;
      }
      const method = init.method ?? 'GET';
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      inFlight += 1;
      const outgoing = request(
        url,
        { method, headers, agent, ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const status = res.statusCode ?? 502;
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
          }
          const nullBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
          if (nullBody) res.resume();
          try {
            resolve(
              new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
                status,
                statusText: res.statusMessage ?? '',
                headers: responseHeaders,
              }),
            );
          } catch (error) {
            res.destroy();
            reject(error);
          }
        },
      );
      outgoing.once('close', ended);
      outgoing.once('error', reject);
      outgoing.end(body);
    });
  return {
    fetch: send as typeof fetch,
    retire() {
      retired = true;
      if (inFlight === 0) agent.destroy();
    },
  };
}
