/**
 * The generic `http` connector: any REST API through one operation, `request`, held to the methods
 * and path prefixes its config allows. The project's answer to EventBridge API Destinations, with a
 * response for the caller and every policy of the runtime.
 */
import { z } from 'zod';
import { HTTP_METHODS, type HttpConnectorConfig } from '../shared/config.js';
import { defineConnector, defineOperation } from '../shared/runtime/index.js';

/**
 * Request headers a caller may not set: hop-by-hop and framing headers, credentials (the connector's
 * auth scheme owns them) and `Idempotency-Key` (send it as the call's own header instead).
 */
export const FORBIDDEN_REQUEST_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'idempotency-key',
];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Why `path` may not be sent, or `undefined` when it may: it must be an absolute path with no dot
 * segments (`..;x` included), no encoded slash, backslash, dot or percent, no query or fragment, and
 * lie within one of `prefixes` on a segment boundary (`/a` allows `/a` and `/a/b`, not `/ab`).
 */
export function pathProblem(path: string, prefixes: readonly string[]): string | undefined {
  if (!path.startsWith('/') || path.startsWith('//'))
    return 'must be an absolute path such as /items/1, not a URL';
  if (!/^[\x21-\x7e]+$/.test(path))
    return 'must contain only visible ASCII characters (percent-encode the rest)';
  if (path.includes('\\')) return 'must not contain a backslash';
  if (/[?#]/.test(path)) return 'must not contain ? or #; put query parameters in query';
  if (/%(2f|5c|2e|25)/i.test(path)) return 'must not contain an encoded slash, backslash, dot or percent';
  // A `;` starts path parameters, which Tomcat, Jetty and Spring strip: `..;x` is `..` to them.
  if (path.split('/').some((segment) => /^\.\.?(;|$)/.test(segment)))
    return 'must not contain . or .. segments';
  const allowed = prefixes.some((prefix) => {
    const base = prefix.replace(/\/+$/, '');
    return path === base || path.startsWith(`${base}/`) || (base === '' && path.startsWith('/'));
  });
  if (!allowed) return `must start with one of the allowed prefixes: ${prefixes.join(', ')}`;
  return undefined;
}

const queryValue = z.union([z.string(), z.number(), z.boolean()]);

/** The input schema of `request` for one connector's config. */
export function requestInputSchema(config: HttpConnectorConfig) {
  const allowedMethods = config.allowedMethods;
  const authHeader =
    config.auth.type === 'apiKey' && config.auth.in === 'header' ? config.auth.name.toLowerCase() : undefined;
  const authQuery =
    config.auth.type === 'apiKey' && config.auth.in === 'query' ? config.auth.name : undefined;
  return z
    .strictObject({
      method: z.enum(HTTP_METHODS).refine((m) => allowedMethods.includes(m), {
        message: `must be one of the allowed methods: ${allowedMethods.join(', ')}`,
      }),
      path: z
        .string()
        .max(2048)
        .superRefine((path, ctx) => {
          const problem = pathProblem(path, config.allowedPathPrefixes);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      query: z
        .record(z.string().min(1).max(256), z.union([queryValue, z.array(queryValue).max(100)]))
        .refine((q) => authQuery === undefined || !Object.hasOwn(q, authQuery), {
          message: `must not set ${authQuery}, the connector's credential parameter`,
        })
        .optional(),
      headers: z
        .record(
          z.string().regex(HEADER_NAME, 'must be a valid header name'),
          z.string().max(8192).regex(HEADER_VALUE, 'must not contain control characters'),
        )
        .superRefine((headers, ctx) => {
          for (const name of Object.keys(headers)) {
            const lower = name.toLowerCase();
            if (FORBIDDEN_REQUEST_HEADERS.includes(lower) || lower === authHeader) {
              ctx.addIssue({ code: 'custom', message: `may not be set by the caller`, path: [name] });
            }
          }
        })
        .optional(),
      body: z.unknown().optional(),
    })
    .superRefine((input, ctx) => {
      if (input.body !== undefined && (input.method === 'GET' || input.method === 'HEAD')) {
        ctx.addIssue({ code: 'custom', message: `must be absent for ${input.method}`, path: ['body'] });
      }
    });
}

/** The output of `request`: the vendor's status, headers and body (parsed when JSON). */
export const requestOutputSchema = z.object({
  status: z.int(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
});

/** The `http` connector kind. */
export const httpConnector = defineConnector<HttpConnectorConfig>({
  kind: 'http',
  operations: (config) => ({
    request: defineOperation({
      description: 'Sends one HTTP request to the configured API and returns its status, headers and body.',
      input: requestInputSchema(config),
      output: requestOutputSchema,
      async run(input, context) {
        const response = await context.send({
          method: input.method,
          path: input.path,
          ...(input.query ? { query: input.query } : {}),
          ...(input.headers ? { headers: input.headers } : {}),
          ...(input.body === undefined ? {} : { body: input.body }),
          // Every redirect hop is held to the caller's own path rule (issue 8, defect 9).
          redirectPathProblem: (path) => pathProblem(path, config.allowedPathPrefixes),
        });
        return { status: response.status, headers: response.headers, body: response.body };
      },
    }),
  }),
});
