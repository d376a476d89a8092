/**
 * The shapes of the trimmed description an `openapi` entry carries (functions/openapi/description.ts
 * makes it, compile.ts compiles its schemas, connector.ts builds requests from it): plain JSON, in
 * the loaded config, and without its schemas in a deployed function's bundle (lambda-entry.ts).
 */
import type { HttpMethod } from '../shared/config.js';

/** A JSON Schema as the description writes it (OpenAPI 3.0's dialect or JSON Schema 2020-12 for 3.1). */
export type JsonSchema = Record<string, unknown>;

/** One parameter of an operation, in the path, the query or a header. */
export interface OpenApiParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  /** Its schema, `$ref`s inlined; `{}` when the description gives none. */
  readonly schema: JsonSchema;
  /** Arrays in the query: one `name=v` per item (`true`, OpenAPI's default for style form) or `name=a,b`. */
  readonly explode: boolean;
}

/** The media types of a request body the connector can send. */
export const REQUEST_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded'] as const;

/** An operation's request body. */
export interface OpenApiRequestBody {
  readonly required: boolean;
  /** The first of {@link REQUEST_MEDIA_TYPES} the description offers. */
  readonly mediaType: (typeof REQUEST_MEDIA_TYPES)[number];
  readonly schema: JsonSchema;
}

/** One allowed operation, as the connector builds, checks and sends it. */
export interface OpenApiOperation {
  readonly method: HttpMethod;
  /** The path template below the base URL, e.g. `/2010-04-01/Accounts/{AccountSid}/Messages.json`. */
  readonly path: string;
  readonly parameters: readonly OpenApiParameter[];
  readonly requestBody?: OpenApiRequestBody | undefined;
  /**
   * The JSON schema of the answer's body by status (`200`, `2XX`, `default`); `null` when the
   * status is documented without a JSON body (nothing to check).
   */
  readonly responses: Readonly<Record<string, JsonSchema | null>>;
}

/** What the connector keeps of a description: the allowed operations only. */
export interface OpenApiDescription {
  /** The file it was read from, for messages. */
  readonly source: string;
  /** `3.0` (OpenAPI 3.0 and converted Swagger 2.0) or `3.1`: the dialect of its schemas. */
  readonly dialect: '3.0' | '3.1';
  /** The first server's URL (Swagger 2.0: scheme, host and basePath); none when it gives none. */
  readonly baseUrl?: string | undefined;
  /** Where its `apiKey` security scheme puts the key, if it has one. */
  readonly apiKey?: { readonly in: 'header' | 'query'; readonly name: string } | undefined;
  /** The allowed operations, by `operationId`. */
  readonly operations: Readonly<Record<string, OpenApiOperation>>;
}
