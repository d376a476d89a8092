/**
 * The generic `http` connector: any REST API through one operation, `request`, held to the methods
 * and path prefixes its config allows. The project's answer to EventBridge API Destinations, with a
 * response for the caller and every policy of the runtime.
 */
import * as z from 'zod';
import { queryParameterShadows } from '../shared/auth/index.js';
import {
  HEADER_NAME_PATTERN,
  HTTP_METHODS,
  type HttpConnectorConfig,
  isForbiddenRequestHeader,
} from '../shared/config.js';
import { defineConnector, defineOperation } from '../shared/runtime/index.js';
import { paginatedOutputShape } from '../shared/runtime/pagination.js';
import { paginatedRequest, paginateProblems, paginateSchema } from './pagination.js';

const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The characters a path may hold: RFC 3986 `pchar` and `/`; `%` only to start an escape. */
const PATH_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]+$/;

/**
 * Escapes a path may not hold, in either case: `.`, `/`, `\`, `%` (double encoding), `;` (a path
 * parameter once decoded: `..%3b`), control characters and DEL.
 */
const REFUSED_ESCAPE = /%(?:2e|2f|5c|25|3b|[01][0-9a-f]|7f)/i;

/**
 * Characters that no compatibility normalisation maps to ASCII but that Windows' "best fit" mapping
 * and some servers read as a slash or backslash (division slash, fraction slash, set minus, reverse
 * solidus operator, big solidus, big reverse solidus).
 */
const SLASH_LOOKALIKES = /[\u2215\u2044\u2216\u29f5\u29f8\u29f9]/u;

/**
 * A dot segment as some server reads it: one or more dots alone, or followed by anything but a
 * letter, digit, `_` or `-`: `..;x` (Tomcat, Jetty and Spring strip path parameters), `.. ` (IIS
 * strips trailing spaces and dots), `...`, `..:`.
 */
const DOT_SEGMENT = /^\.+(?:[^A-Za-z0-9_.-]|$)/;

/** Why one segment may not be sent, or `undefined`. */
function segmentProblem(segment: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Invalid or overlong UTF-8 (`%C0%AE`, an overlong `.`), or a stray `%` (`%u002e`, IIS).
    return 'must be percent-encoded UTF-8: % followed by two hexadecimal digits, no %u escapes';
  }
  for (const char of decoded) {
    if (char.charCodeAt(0) < 0x80) continue;
    // Fullwidth `．` `／` `＼` `；`, one and two dot leaders `․` `‥`: NFKC reads them as ASCII.
    if (char.normalize('NFKC') !== char.normalize('NFC') || SLASH_LOOKALIKES.test(char)) {
      return 'must not contain characters that normalise to others (fullwidth forms, dot leaders, slash look-alikes)';
    }
  }
  if (DOT_SEGMENT.test(decoded)) return 'must not contain . or .. segments';
  return undefined;
}

/**
 * Why `path` may not be sent, or `undefined` when it may. It must be an absolute path made of the
 * characters of RFC 3986 `pchar` and `/` (no `\`, `?`, `#`, space or non-ASCII: percent-encode
 * them), with every `%` starting an escape of valid UTF-8 other than `.`, `/`, `\`, `%`, `;` or a
 * control character; no segment may be a dot segment as any common server reads it (`..`, `..;x`,
 * `..%20`, `...`), also once decoded; no character may normalise (NFKC) to another (fullwidth `．`,
 * `‥`) or look like a slash; and it must lie within one of `prefixes` on a segment boundary (`/a`
 * allows `/a` and `/a/b`, not `/ab`). Pure: also used for each redirect hop.
 */
export function pathProblem(path: string, prefixes: readonly string[]): string | undefined {
  if (!path.startsWith('/') || path.startsWith('//'))
    return 'must be an absolute path such as /items/1, not a URL';
  if (path.includes('\\')) return 'must not contain a backslash';
  if (/[?#]/.test(path)) return 'must not contain ? or #; put query parameters in query';
  if (!PATH_CHARACTERS.test(path))
    return "must contain only letters, digits, /, %-escapes and -._~!$&'()*+,;=:@ (percent-encode the rest)";
  if (/%(?![0-9A-Fa-f]{2})/.test(path))
    return 'must use % only in escapes of two hexadecimal digits (no %u escapes)';
  if (REFUSED_ESCAPE.test(path))
    return 'must not contain an encoded dot, slash, backslash, percent, semicolon or control character';
  for (const segment of path.split('/')) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
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
  const allowedHeaders = new Set(config.allowedRequestHeaders.map((name) => name.toLowerCase()));
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
        .superRefine((query, ctx) => {
          if (authQuery === undefined) return;
          for (const key of Object.keys(query)) {
            if (queryParameterShadows(key, authQuery)) {
              ctx.addIssue({
                code: 'custom',
                message: `must not set ${authQuery}, the connector's credential parameter, in any spelling`,
                path: [key],
              });
            }
          }
        })
        .optional(),
      headers: z
        .record(
          z.string().regex(HEADER_NAME_PATTERN, 'must be a valid header name'),
          z.string().max(8192).regex(HEADER_VALUE, 'must not contain control characters'),
        )
        .superRefine((headers, ctx) => {
          for (const name of Object.keys(headers)) {
            const lower = name.toLowerCase();
            // The config refuses these too; checked again so that no config can let them through.
            const refused = isForbiddenRequestHeader(lower) || lower === authHeader;
            if (refused || !allowedHeaders.has(lower)) {
              ctx.addIssue({
                code: 'custom',
                message: refused
                  ? `${name} may not be set by the caller`
                  : `${name} is not one of the connector's allowedRequestHeaders: ${[...allowedHeaders].join(', ')}`,
                path: [name],
              });
            }
          }
        })
        .optional(),
      body: z.unknown().optional(),
      /** Follow the pages of a list (GET only): see {@link paginateSchema}. @default one request, one answer */
      paginate: paginateSchema.optional(),
    })
    .superRefine((input, ctx) => {
      if (input.body !== undefined && (input.method === 'GET' || input.method === 'HEAD')) {
        ctx.addIssue({ code: 'custom', message: `must be absent for ${input.method}`, path: ['body'] });
      }
      if (input.paginate === undefined) return;
      const problems = paginateProblems(input.paginate, input, config, (path) =>
        pathProblem(path, config.allowedPathPrefixes),
      );
      for (const [path, message] of problems) ctx.addIssue({ code: 'custom', message, path });
    });
}

/** The output of `request`: the vendor's status, headers and body (parsed when JSON). */
export const requestOutputSchema = z.object({
  status: z.int(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
});

/**
 * The output of a paginated `request` (with `paginate`): the status of the last page fetched, the
 * items of every page, how many pages, whether the list is complete, and otherwise what stopped it
 * (`stoppedBy`, `reason`, the failed page's `error`) and where to continue (`next`, given back as
 * `paginate.start`).
 */
export const paginatedRequestOutputSchema = z.object({ status: z.int(), ...paginatedOutputShape });

/** The `http` connector kind. */
export const httpConnector = defineConnector<HttpConnectorConfig>({
  kind: 'http',
  operations: (config) => ({
    request: defineOperation({
      description:
        'Sends one HTTP request to the configured API and returns its status, headers and body; with paginate, follows the pages of a list and returns their items.',
      input: requestInputSchema(config),
      output: z.union([requestOutputSchema, paginatedRequestOutputSchema]),
      async run(input, context) {
        const allowed = (path: string) => pathProblem(path, config.allowedPathPrefixes);
        const request = {
          method: input.method,
          path: input.path,
          ...(input.query ? { query: input.query } : {}),
          ...(input.headers ? { headers: input.headers } : {}),
          ...(input.body === undefined ? {} : { body: input.body }),
          // Every redirect hop is held to the caller's own path rule (issue 8, defect 9).
          redirectPathProblem: allowed,
        };
        if (input.paginate) return paginatedRequest(request, input.paginate, context, allowed);
        const response = await context.send(request);
        return { status: response.status, headers: response.headers, body: response.body };
      },
    }),
  }),
});
