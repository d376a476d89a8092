/**
 * The `openapi` connector kind's operations: each allowed `operationId` of a vendor's API
 * description is an operation, `POST /v1/connectors/{name}/{operationId}` with input
 * `{path?, query?, headers?, body?}` as the description defines them. The input is checked against
 * the description before anything is sent, the request is built from it and sent with
 * `context.send` (every policy applies), and the answer is checked against the schema documented
 * for its status (docs/connectors/openapi.md).
 *
 * {@link defineOpenApiConnector} takes the validators from its caller, so this module loads no Ajv:
 * `kind.ts` compiles them at load (`npm start`, tests), `precompiled.ts` takes the standalone code
 * generated at synth time (Lambda).
 */
import * as z from 'zod';
import { queryParameterShadows } from '../shared/auth/index.js';
import { type OpenApiConnectorConfig, RESPONSE_VALIDATION_MODES } from '../shared/config.js';
import { ConnectorError } from '../shared/errors.js';
import type { QueryValue } from '../shared/http/client.js';
import type { OperationRequest } from '../shared/runtime/connector.js';
import { defineConnector, defineOperation } from '../shared/runtime/index.js';
import type { OpenApiDescription, OpenApiOperation } from './types.js';
import { callerHeader, IDEMPOTENCY_KEY_PARAMETER, type OperationValidators } from './validators.js';

/** The input of every `openapi` operation, before the description's own checks. */
export const operationInputShape = z.strictObject({
  path: z.record(z.string(), z.unknown()).optional(),
  query: z.record(z.string(), z.unknown()).optional(),
  headers: z.record(z.string(), z.unknown()).optional(),
  body: z.unknown().optional(),
});

/** What the caller sends. */
export type OperationInput = z.output<typeof operationInputShape>;

/** The output of every `openapi` operation: the vendor's status, headers and body (parsed when JSON). */
export const operationOutputSchema = z.object({
  status: z.int(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
});

/** A scalar as the query or a form body writes it; objects as JSON (deepObject is not supported). */
function text(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/**
 * The input schema of one operation: the shape, then the description's checks (Ajv), then no
 * parameter where the connector's `apiKey` credential goes, then the path segments, which must not
 * be empty or dot segments once filled in.
 * @param auth - the connector's `auth`; @default none
 */
export function operationInputSchema(
  operation: OpenApiOperation,
  validators: OperationValidators,
  auth: OpenApiConnectorConfig['auth'] = { type: 'none' },
) {
  return operationInputShape.superRefine((input, ctx) => {
    for (const issue of validators.input(input)) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
    }
    // A parameter the description declares may still be where the connector's apiKey goes.
    if (auth.type === 'apiKey') {
      const given = auth.in === 'query' ? input.query : input.headers;
      for (const key of Object.keys(given ?? {})) {
        const clash =
          auth.in === 'query'
            ? queryParameterShadows(key, auth.name)
            : key.toLowerCase() === auth.name.toLowerCase();
        if (clash) {
          ctx.addIssue({
            code: 'custom',
            message: `must not set ${auth.name}, the connector's credential, in any spelling`,
            path: [auth.in === 'query' ? 'query' : 'headers', key],
          });
        }
      }
    }
    for (const parameter of operation.parameters) {
      if (parameter.in !== 'path') continue;
      const value = input.path?.[parameter.name];
      if (value === undefined) continue;
      const segment = text(value);
      if (segment === '' || segment === '.' || segment === '..') {
        ctx.addIssue({
          code: 'custom',
          message: 'must not be empty, . or ..',
          path: ['path', parameter.name],
        });
      }
    }
  });
}

/**
 * The request of a validated input: the path template filled (each value percent-encoded), the
 * declared query parameters (arrays as repeated `name=v`, or `name=a,b` with `explode: false`), the
 * declared header parameters, the caller's `Idempotency-Key` in a header parameter named like
 * `Idempotency-Key` or `Idempotency-Token` (named in `idempotencyKeyHeader`, so that a POST or
 * PATCH carrying it is retried as one carrying `Idempotency-Key`), and the body as JSON or `application/x-www-form-urlencoded`.
 * @param idempotencyKey - the caller's `Idempotency-Key`, if any
 */
export function buildRequest(
  operation: OpenApiOperation,
  input: OperationInput,
  idempotencyKey: string | undefined,
): OperationRequest {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(text(input.path?.[name])),
  );
  const query: Record<string, QueryValue> = {};
  const headers: Record<string, string> = {};
  let idempotencyKeyHeader: string | undefined;
  for (const parameter of operation.parameters) {
    if (parameter.in === 'query') {
      const value = input.query?.[parameter.name];
      if (value === undefined) continue;
      query[parameter.name] = Array.isArray(value)
        ? parameter.explode
          ? value.map(text)
          : value.map(text).join(',')
        : text(value);
    } else if (parameter.in === 'header') {
      if (!callerHeader(parameter)) {
        if (IDEMPOTENCY_KEY_PARAMETER.test(parameter.name) && idempotencyKey !== undefined) {
          headers[parameter.name] = idempotencyKey;
          idempotencyKeyHeader = parameter.name;
        }
        continue;
      }
      const value = input.headers?.[parameter.name];
      if (value !== undefined) headers[parameter.name] = text(value);
    }
  }
  let body: unknown;
  const requestBody = operation.requestBody;
  if (requestBody && input.body !== undefined) {
    if (requestBody.mediaType === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams();
      for (const [name, value] of Object.entries((input.body ?? {}) as Record<string, unknown>)) {
        for (const item of Array.isArray(value) ? value : [value]) form.append(name, text(item));
      }
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      body = input.body;
    }
  }
  return {
    method: operation.method,
    path,
    ...(Object.keys(query).length > 0 ? { query } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(idempotencyKeyHeader === undefined ? {} : { idempotencyKeyHeader }),
    ...(body === undefined ? {} : { body }),
  };
}

/**
 * The trimmed description of a validated entry.
 * @throws ConnectorError `CONFIGURATION_ERROR` when `spec` is still a file path (the suite was not
 *   loaded with `loadSuiteConfig`)
 */
function descriptionOf(config: OpenApiConnectorConfig): OpenApiDescription {
  if (typeof config.spec === 'string') {
    throw new ConnectorError(
      'CONFIGURATION_ERROR',
      `Connector '${config.name}': spec is a file path; load the suite with loadSuiteConfig, which reads the description.`,
    );
  }
  return config.spec as unknown as OpenApiDescription;
}

/** Whether `mode` checks answers; for the type checker. */
const isMode = (mode: string): mode is (typeof RESPONSE_VALIDATION_MODES)[number] =>
  (RESPONSE_VALIDATION_MODES as readonly string[]).includes(mode);

/**
 * The checks of one allowed operation, given by the caller of {@link defineOpenApiConnector}.
 * @param operationId - the operation's id, as the entry's `operations` lists it
 * @param index - its place in `operations` (the standalone code names its validators by it)
 */
export type OpenApiValidatorsSource = (
  operationId: string,
  operation: OpenApiOperation,
  description: OpenApiDescription,
  index: number,
) => OperationValidators;

/**
 * The `openapi` connector kind, its checks taken from `validatorsOf`.
 * @param validatorsOf - compiles them now (`kind.ts`) or picks the precompiled ones (`precompiled.ts`)
 */
export function defineOpenApiConnector(validatorsOf: OpenApiValidatorsSource) {
  return defineConnector<OpenApiConnectorConfig>({
    kind: 'openapi',
    operations: (config) => {
      const description = descriptionOf(config);
      const mode = isMode(config.responseValidation) ? config.responseValidation : 'warn';
      return Object.fromEntries(
        config.operations.map((operationId, index) => {
          const operation = description.operations[operationId] as OpenApiOperation;
          const validators = validatorsOf(operationId, operation, description, index);
          return [
            operationId,
            defineOperation({
              description: `${operation.method} ${operation.path} (${operationId} of ${description.source.split('/').pop()})`,
              input: operationInputSchema(operation, validators, config.auth),
              output: operationOutputSchema,
              async run(input, context) {
                const response = await context.send(buildRequest(operation, input, context.idempotencyKey));
                if (mode !== 'off') {
                  const issues = validators.response(response.status, response.body);
                  if (issues.length > 0) {
                    const details = issues.map((issue) => ({
                      path: issue.path
                        .map((p) => (typeof p === 'number' ? `[${p}]` : p))
                        .join('.')
                        .replaceAll('.[', '['),
                      message: issue.message,
                    }));
                    if (mode === 'enforce') {
                      throw new ConnectorError(
                        'RESPONSE_VALIDATION_ERROR',
                        `The upstream answer does not match the schema ${operationId} documents for status ${response.status}.`,
                        { details, upstreamStatus: response.status },
                      );
                    }
                    // The paths and Ajv's reasons only: never the values.
                    context.logger.warn('The upstream answer does not match the documented schema.', {
                      operationId,
                      upstreamStatus: response.status,
                      responseIssues: details,
                    });
                  }
                }
                return { status: response.status, headers: response.headers, body: response.body };
              },
            }),
          ];
        }),
      );
    },
  });
}
