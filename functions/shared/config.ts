/**
 * The suite configuration: the one schema behind `suite.config.ts`, `SUITE_CONFIG` files, `cdk synth`,
 * `npm start` and each deployed connector's `CONNECTOR_CONFIG` (docs/design.md §6). Pure zod, no I/O, so the
 * CDK app, the local gateway and the Lambda runtime all validate with exactly the same rules.
 */
import * as z from 'zod';
import { DEFAULT_HMAC_TEMPLATE, parseHmacTemplate } from './auth/hmac-template.js';
import { environmentSources } from './config-env.js';
import { knownKeysAt, unknownKeyHints, valueAt } from './config-hints.js';
import {
  SQS_MAX_DELAY_SECONDS,
  SQS_MAX_RETENTION_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
} from './runtime/async-contract.js';

/** HTTP methods a connector may send. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** One of {@link HTTP_METHODS}. */
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Options of {@link suiteConfigSchema} and {@link parseSuiteConfig}. */
export interface ConfigSchemaOptions {
  /**
   * Accept `http://` URLs on loopback hosts (127.0.0.0/8, `localhost`, `[::1]`). Only the local
   * gateway sets this; a deployed connector talks https only.
   * @default false
   */
  allowLoopbackHttp?: boolean;
}

/** Options of the schema builders and parsers that also accept connector kinds of your own. */
export interface KindsConfigSchemaOptions extends ConfigSchemaOptions {
  /**
   * The connector kinds of your own that entries may name besides the built-in ones (`http`,
   * `stripe`, `slack`, `github`, `twilio`): each a {@link ConfigKind}, such as the `ConnectorKind`
   * that `connectorKind()` returns. An entry of a built-in kind keeps its own schema whatever this
   * lists; a kind listed here under a built-in name is ignored (the registry refuses one).
   * The schema builders throw {@link ConfigValidationError} when two different kinds share a name
   * or a name does not match {@link KIND_NAME_PATTERN}.
   */
  kinds: readonly ConfigKind[];
}

/** What the schema builders read: the options, with kinds of your own or without. */
type SchemaOptions = ConfigSchemaOptions & { kinds?: readonly ConfigKind[] };

/**
 * What the config schema needs to know of a connector kind of your own: its name and the schema of
 * its `settings` (the kind's own fields of a connector entry). A `ConnectorKind` is one.
 */
export interface ConfigKind {
  /** The `kind` that connector entries name; see {@link KIND_NAME_PATTERN}. */
  readonly kind: string;
  /**
   * The zod schema of a connector entry's `settings` object, defaults applied by it.
   * @default an empty strict object: an entry of the kind may not set `settings`
   */
  readonly settings?: z.ZodType<Record<string, unknown>> | undefined;
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Whether `url` names a loopback host: `localhost`, any IPv4 address in 127.0.0.0/8, or `[::1]`
 * (the WHATWG URL parser has already normalized forms such as `127.1`).
 */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.test(url.hostname.toLowerCase());
}

/** Whether `url` is `http:` on a loopback host. */
export function isLoopbackHttpUrl(url: URL): boolean {
  return url.protocol === 'http:' && isLoopbackUrl(url);
}

function secureUrl(options: ConfigSchemaOptions) {
  return z.url({ message: 'must be an absolute URL' }).superRefine((value, ctx) => {
    const url = new URL(value);
    if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not embed credentials; use auth.secret' });
    }
    if (url.protocol === 'https:') return;
    if (options.allowLoopbackHttp && isLoopbackHttpUrl(url)) return;
    ctx.addIssue({
      code: 'custom',
      message: options.allowLoopbackHttp
        ? 'must use https (http is accepted only for loopback hosts in local mode)'
        : 'must use https',
    });
  });
}

const secretName = z
  .string()
  .regex(
    /^[A-Za-z0-9/_+=.@-]{1,512}$/,
    'must be a Secrets Manager secret name or ARN (letters, digits, /_+=.@-)',
  );

function authSchema(options: ConfigSchemaOptions) {
  return z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({
      type: z.literal('apiKey'),
      /** Where the key goes. */
      in: z.enum(['header', 'query']),
      /** Header or query parameter name, e.g. `X-Api-Key`. */
      name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a header or query parameter name'),
      secret: secretName,
    }),
    z.strictObject({ type: z.literal('bearer'), secret: secretName }),
    z.strictObject({ type: z.literal('basic'), secret: secretName }),
    z.strictObject({
      type: z.literal('oauth2ClientCredentials'),
      tokenUrl: secureUrl(options),
      scope: z.string().optional(),
      /** How the client authenticates to the token endpoint (RFC 6749 §2.3.1). */
      clientAuthentication: z.enum(['basic', 'body']).default('basic'),
      secret: secretName,
    }),
    hmacAuthSchema(),
    awsSigV4AuthSchema(),
    z.strictObject({ type: z.literal('mtls'), secret: secretName }),
  ]);
}

/** The `hmac` scheme (docs/auth.md): a signature header over a canonical string of the request. */
function hmacAuthSchema() {
  const authHeaderName = z.string().regex(HEADER_NAME_PATTERN, 'must be a header name');
  return z
    .strictObject({
      type: z.literal('hmac'),
      secret: secretName,
      /** The canonical string's template (see functions/shared/auth/hmac-template.ts). */
      canonical: z
        .string()
        .max(1024)
        .superRefine((template, ctx) => {
          const parsed = parseHmacTemplate(template);
          if ('problems' in parsed)
            for (const message of parsed.problems) ctx.addIssue({ code: 'custom', message });
        })
        .default(DEFAULT_HMAC_TEMPLATE),
      algorithm: z.enum(['sha256', 'sha512']).default('sha256'),
      /** How the signature is written. */
      encoding: z.enum(['hex', 'base64']).default('hex'),
      signatureHeader: authHeaderName.default('X-Signature'),
      /** Written before the signature, e.g. `sha256=` or `v1,`. */
      signaturePrefix: z
        .string()
        .max(64)
        .regex(/^[\x21-\x7e]*$/, 'must be printable ASCII without spaces')
        .default(''),
      timestampHeader: authHeaderName.default('X-Timestamp'),
      timestampFormat: z.enum(['unixSeconds', 'unixMs', 'iso8601']).default('unixSeconds'),
      /** Sends the secret's `keyId` field in this header. */
      keyIdHeader: authHeaderName.optional(),
      /** Sends the template's `{nonce}` (a fresh UUID per signature) in this header. */
      nonceHeader: authHeaderName.optional(),
      /** How the secret's `signingSecret` is read: as text, or the bytes of base64 (a `whsec_` prefix dropped) or hex. */
      secretEncoding: z.enum(['utf8', 'base64', 'hex']).default('utf8'),
    })
    .superRefine((auth, ctx) => {
      if (auth.canonical.includes('{nonce}') && auth.nonceHeader === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be set when auth.canonical uses {nonce}, so that the server can rebuild the string',
          path: ['nonceHeader'],
        });
      }
      const names = ['signatureHeader', 'timestampHeader', 'keyIdHeader', 'nonceHeader'] as const;
      const seen = new Map<string, string>();
      for (const field of names) {
        const name = auth[field]?.toLowerCase();
        if (name === undefined) continue;
        const clash = seen.get(name);
        if (clash !== undefined) {
          ctx.addIssue({ code: 'custom', message: `must differ from ${clash}`, path: [field] });
        }
        seen.set(name, field);
      }
    });
}

/** The `awsSigV4` scheme (docs/auth.md): requests signed with AWS Signature Version 4. */
function awsSigV4AuthSchema() {
  return z
    .strictObject({
      type: z.literal('awsSigV4'),
      /** The signing name of the service, e.g. `execute-api`, `lambda`, `es`. */
      service: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an AWS signing name such as execute-api'),
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region such as eu-west-1'),
      /** A role to assume for signing; @default the function's own role */
      roleArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN')
        .optional(),
      externalId: z
        .string()
        .regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2 to 1224 of letters, digits and +=,.@:/-')
        .optional(),
      sessionName: z
        .string()
        .regex(/^[\w+=,.@-]{2,64}$/, 'must be 2 to 64 of letters, digits and +=,.@-')
        .optional(),
    })
    .superRefine((auth, ctx) => {
      for (const field of ['externalId', 'sessionName'] as const) {
        if (auth[field] !== undefined && auth.roleArn === undefined) {
          ctx.addIssue({ code: 'custom', message: 'is used only with roleArn', path: [field] });
        }
      }
    });
}

const retrySchema = z
  .strictObject({
    /** Attempts in all, the first included (3 = one call and up to two retries). */
    maxAttempts: z.int().min(1).max(10).default(3),
    /** Base of the exponential backoff, in ms. */
    baseDelayMs: z.number().min(0).max(60_000).default(100),
    /** Cap of one backoff wait, in ms. */
    maxDelayMs: z.number().min(0).max(300_000).default(2_000),
    /** The longest `Retry-After` the connector waits for; a longer one ends the retries. */
    maxRetryAfterSeconds: z.number().min(0).max(900).default(20),
  })
  .refine((r) => r.maxDelayMs >= r.baseDelayMs, {
    message: 'maxDelayMs must be >= baseDelayMs',
    path: ['maxDelayMs'],
  });

const circuitBreakerSchema = z.strictObject({
  /** Fraction of failed calls (0..1] above which the breaker opens. */
  failureRateThreshold: z.number().gt(0).max(1).default(0.5),
  /** Calls within the window before the rate is judged. */
  minimumCalls: z.int().min(1).default(10),
  /** Sliding window the rate is measured over, in seconds. */
  windowSeconds: z.number().gt(0).max(3_600).default(60),
  /** How long the breaker stays open before one half-open probe, in seconds. */
  openSeconds: z.number().gt(0).max(3_600).default(30),
  /** `instance`: each warm instance judges alone; `shared`: the fleet shares the open state (docs/fleet.md). */
  scope: z.enum(['instance', 'shared']).default('instance'),
  /** With `scope: shared`, how long an instance decides from its cached copy of the shared state, in ms. */
  refreshMs: z.int().min(100).max(60_000).default(1_000),
});

const rateLimitSchema = z
  .strictObject({
    /** Sustained outbound requests per second (token refill rate). */
    requestsPerSecond: z.number().gt(0).default(50),
    /** Bucket size: requests allowed at once after a quiet spell. */
    burst: z.int().min(1).default(100),
    /**
     * `instance`: each warm instance has its own bucket; `shared`: the fleet shares one, leased in
     * blocks from the idempotency table (docs/fleet.md#shared-rate-limit). @default 'instance'
     */
    scope: z.enum(['instance', 'shared']).default('instance'),
    /** `shared` only: tokens leased per DynamoDB write. @default max(1, ⌊requestsPerSecond / 10⌋), at most `burst` */
    leaseSize: z.int().min(1).optional(),
  })
  .refine((limit) => limit.leaseSize === undefined || limit.leaseSize <= limit.burst, {
    message: 'leaseSize must not exceed burst',
    path: ['leaseSize'],
  });

const asyncSchema = z
  .strictObject({
    /** Deliveries of an event before it is dead-lettered (also the inbox redrive policy's backstop). */
    maxReceiveCount: z.int().min(1).max(1_000).default(5),
    /** Base of the backoff between deliveries, in seconds. */
    backoffBaseSeconds: z.number().gt(0).default(2),
    /**
     * Cap of one backoff between deliveries (a vendor's longer `Retry-After` included), in seconds.
     * SQS allows a message to stay hidden at most 12 hours from its receipt, so the cap must leave
     * room for the batching window and the function's run: see {@link maxBackoffSeconds}.
     */
    backoffMaxSeconds: z.number().gt(0).max(SQS_MAX_VISIBILITY_SECONDS).default(900),
    /** Messages per invocation of the event source mapping. */
    batchSize: z.int().min(1).max(10_000).default(10),
    /** How long the mapping gathers a batch, in seconds (required above 10 messages). */
    maxBatchingWindowSeconds: z.number().min(0).max(300).default(0),
    /** Concurrent invocations the mapping may run: the suite's global rate control for a vendor. */
    maxConcurrency: z.int().min(2).max(1_000).default(5),
    /** Publish `Connector Invocation Succeeded` / `Failed` after each event. */
    resultEvents: z.boolean().default(true),
  })
  .refine((a) => a.backoffMaxSeconds >= a.backoffBaseSeconds, {
    message: 'backoffMaxSeconds must be >= backoffBaseSeconds',
    path: ['backoffMaxSeconds'],
  })
  .refine((a) => a.batchSize <= 10 || a.maxBatchingWindowSeconds >= 1, {
    message: 'a batchSize above 10 needs maxBatchingWindowSeconds of at least 1 (an SQS rule)',
    path: ['maxBatchingWindowSeconds'],
  });

/** The `async` settings and the function timeout they depend on. */
export interface AsyncLimitsInput {
  /** The Lambda function's timeout, in seconds. */
  functionTimeoutSeconds: number;
  /** The connector's `async` settings. */
  async: Pick<
    z.output<typeof asyncSchema>,
    'maxReceiveCount' | 'backoffMaxSeconds' | 'maxBatchingWindowSeconds'
  >;
}

/** The inbox's retention when the settings need no more: 4 days, the SQS default. */
export const DEFAULT_INBOX_RETENTION_SECONDS = 345_600;
/**
 * Time a visible message may wait in the inbox before the event source mapping receives it (a
 * backlog, a throttled function), kept on top of the worst case of {@link worstCaseInboxSeconds}:
 * one day, in seconds.
 */
export const INBOX_BACKLOG_ALLOWANCE_SECONDS = 86_400;
/** Slack kept under SQS's 12-hour visibility limit beyond the batching window and the function's run, in seconds. */
export const VISIBILITY_SLACK_SECONDS = 60;

/**
 * The longest backoff the runtime may hide a message for: SQS refuses a visibility timeout that
 * ends more than 12 hours (43,200 s) after the message was received ("you can't extend the timeout
 * of a message ... to more than a total visibility timeout of 12 hours", SQS API Reference,
 * ChangeMessageVisibility), and by the time the runtime hides a message, up to the batching window
 * plus the function's timeout have passed since its receipt (plus {@link VISIBILITY_SLACK_SECONDS}).
 * @returns seconds
 */
export function maxBackoffSeconds(settings: AsyncLimitsInput): number {
  return (
    SQS_MAX_VISIBILITY_SECONDS -
    settings.async.maxBatchingWindowSeconds -
    settings.functionTimeoutSeconds -
    VISIBILITY_SLACK_SECONDS
  );
}

/**
 * The inbox's visibility timeout for a function of `functionTimeoutSeconds`: six times that timeout
 * (what AWS advises for a Lambda event source), at least 30 seconds, in whole seconds.
 */
export function inboxVisibilitySeconds(functionTimeoutSeconds: number): number {
  return Math.max(30, Math.ceil(6 * functionTimeoutSeconds));
}

/**
 * The longest time one inbox message can spend in the inbox before it ends, in seconds: the longest
 * delay of a message the runtime puts back (900 s, the SQS maximum), then `maxReceiveCount`
 * deliveries, each hidden either for the visibility timeout (a crashed function) or for the
 * batching window, the function's run and the longest backoff. A message the runtime puts back
 * (open breaker, rate limit, a dependency down) is a new message with its own retention, so the
 * waits that spend no attempt do not add up here; they are bounded by the retention itself (see
 * {@link inboxRetentionSeconds}).
 */
export function worstCaseInboxSeconds(settings: AsyncLimitsInput): number {
  const { maxReceiveCount, backoffMaxSeconds, maxBatchingWindowSeconds } = settings.async;
  const perDelivery = Math.max(
    inboxVisibilitySeconds(settings.functionTimeoutSeconds),
    maxBatchingWindowSeconds + settings.functionTimeoutSeconds + backoffMaxSeconds,
  );
  return SQS_MAX_DELAY_SECONDS + maxReceiveCount * perDelivery;
}

/**
 * The inbox's message retention: {@link worstCaseInboxSeconds} plus a day of backlog
 * ({@link INBOX_BACKLOG_ALLOWANCE_SECONDS}), at least 4 days (the SQS default), in whole seconds.
 * The config refuses settings for which this exceeds 14 days, the most SQS keeps a message
 * (SQS Developer Guide, quotas: `MessageRetentionPeriod` 60 s to 1,209,600 s). It is also the
 * longest time the runtime keeps putting an event back while the suite itself cannot take it.
 */
export function inboxRetentionSeconds(settings: AsyncLimitsInput): number {
  return Math.max(
    DEFAULT_INBOX_RETENTION_SECONDS,
    Math.ceil(worstCaseInboxSeconds(settings) + INBOX_BACKLOG_ALLOWANCE_SECONDS),
  );
}

/**
 * The cross-field rules of the asynchronous path (SQS's limits), reported on the connector's fields.
 */
function checkAsyncLimits(
  connector: AsyncLimitsInput,
  ctx: { addIssue(issue: { code: 'custom'; message: string; path: PropertyKey[] }): void },
): void {
  const { async: settings, functionTimeoutSeconds } = connector;
  const numbers = [
    functionTimeoutSeconds,
    settings?.maxReceiveCount,
    settings?.backoffMaxSeconds,
    settings?.maxBatchingWindowSeconds,
  ];
  // A field that is itself invalid is reported by its own schema.
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) return;
  const backoffCap = maxBackoffSeconds(connector);
  if (connector.async.backoffMaxSeconds > backoffCap) {
    ctx.addIssue({
      code: 'custom',
      message: `must be at most ${backoffCap} s with functionTimeoutSeconds ${connector.functionTimeoutSeconds} and async.maxBatchingWindowSeconds ${connector.async.maxBatchingWindowSeconds}: SQS keeps a message hidden at most 12 hours (43,200 s) from its receipt`,
      path: ['async', 'backoffMaxSeconds'],
    });
  }
  const needed = worstCaseInboxSeconds(connector) + INBOX_BACKLOG_ALLOWANCE_SECONDS;
  if (needed > SQS_MAX_RETENTION_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      message: `async.maxReceiveCount ${connector.async.maxReceiveCount} × (async.backoffMaxSeconds ${connector.async.backoffMaxSeconds} + async.maxBatchingWindowSeconds + functionTimeoutSeconds) needs the inbox to keep a message ${Math.ceil(needed)} s (a day of backlog included), more than the 14 days (1,209,600 s) SQS keeps one; lower async.maxReceiveCount or async.backoffMaxSeconds`,
      path: ['async', 'maxReceiveCount'],
    });
  }
}

/** A connector name: the `{connector}` of the route and part of resource ids. */
export const CONNECTOR_NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

function commonConnectorFields() {
  return {
    /** Connector name: the `{connector}` of the route, and part of resource names. */
    name: z
      .string()
      .regex(
        CONNECTOR_NAME_PATTERN,
        'must start with a lowercase letter and use only a-z, 0-9 and -, at most 40',
      ),
    /** Per-attempt timeout, in ms. */
    timeoutMs: z.int().min(1).max(900_000).default(5_000),
    /** The Lambda function's timeout, in seconds; the deadline of a call is derived from it. */
    functionTimeoutSeconds: z.int().min(1).max(900).default(29),
    /** The Lambda function's memory, in MB (CPU grows with it). */
    memorySizeMb: z.int().min(128).max(10_240).default(512),
    /** Time kept back from the function's remaining time to answer the caller, in ms. */
    deadlineMarginMs: z.int().min(0).max(60_000).default(500),
    retry: retrySchema.default(retrySchema.parse({})),
    circuitBreaker: circuitBreakerSchema.default(circuitBreakerSchema.parse({})),
    rateLimit: rateLimitSchema.default(rateLimitSchema.parse({})),
    /** GET response cache lifetime, in seconds; 0 turns caching off. `Cache-Control` may shorten it. */
    cacheTtlSeconds: z.number().min(0).max(86_400).default(0),
    /** Bytes the GET cache holds at most, bodies and headers (least recently used out); 16 MiB by default. */
    cacheMaxBytes: z.int().min(0).max(1_073_741_824).default(16_777_216),
    /** How long an idempotent result is kept and replayed, in seconds. */
    idempotencyTtlSeconds: z.int().min(1).max(2_592_000).default(3_600),
    /** The asynchronous path: EventBridge → SQS inbox → connector. */
    async: asyncSchema.default(asyncSchema.parse({})),
  };
}

/** Path prefixes: absolute, no dot segments, no query, no encoded characters. */
const pathPrefix = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, 'must be an absolute path such as /v1/items')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments');

/**
 * Request headers a caller of an `http` connector may set unless `allowedRequestHeaders` says
 * otherwise: content negotiation, conditional requests (RFC 9110 §12, §13), `Prefer` (RFC 7240) and a
 * request id. None of them changes where a request goes or who sends it.
 */
export const DEFAULT_ALLOWED_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'accept-language',
  'content-language',
  'content-type',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'prefer',
  'x-request-id',
];

/**
 * Request headers no caller may set, whatever `allowedRequestHeaders` says: credentials and sessions
 * (the auth scheme owns them), `Host`, hop-by-hop and framing headers (RFC 9110 §7.6.1, RFC 9112 §6),
 * `Idempotency-Key` (send it as the call's own header), method overrides, and the routing and
 * client-address headers that proxies and frameworks trust (`X-Original-URL`, `X-Rewrite-URL`,
 * `Forwarded` of RFC 7239, `X-Real-IP`, ...). Names ending in `*` are prefixes.
 */
export const FORBIDDEN_REQUEST_HEADERS: readonly string[] = [
  'authorization',
  'proxy-*',
  'cookie',
  'cookie2',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'via',
  'idempotency-key',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-*',
  'x-rewrite-url',
  'x-forwarded-*',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-host',
];

/** Whether no caller may set the header `name` (see {@link FORBIDDEN_REQUEST_HEADERS}). */
export function isForbiddenRequestHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return FORBIDDEN_REQUEST_HEADERS.some((entry) =>
    entry.endsWith('*') ? lower.startsWith(entry.slice(0, -1)) : lower === entry,
  );
}

/** An HTTP field name (RFC 9110 §5.1: a token). */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

const allowedRequestHeader = z
  .string()
  .regex(HEADER_NAME_PATTERN, 'must be a header name')
  .refine((name) => !isForbiddenRequestHeader(name), {
    message: 'may never be set by a caller (a credential, hop-by-hop, routing or method-override header)',
  });

/** Refuses the `apiKey` credential's header in `allowedRequestHeaders`, naming the entry. */
function refuseApiKeyHeader(
  connector: { auth: { type: string; in?: string; name?: string }; allowedRequestHeaders: string[] },
  ctx: z.RefinementCtx,
): void {
  const { auth } = connector;
  if (auth.type !== 'apiKey' || auth.in !== 'header' || auth.name === undefined) return;
  const credentialHeader = auth.name.toLowerCase();
  connector.allowedRequestHeaders.forEach((name, i) => {
    if (name.toLowerCase() === credentialHeader) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not name the header of the apiKey credential',
        path: ['allowedRequestHeaders', i],
      });
    }
  });
}

/** How far a webhook's signed timestamp may be from now by default, either way, in seconds (Stripe's and Slack's own default). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * The fields of a connector's `webhook` setting every scheme shares (docs/webhooks.md): the secret
 * holding the signing secrets, `{"signingSecret", "previousSigningSecret"?}` (both accepted during
 * a rotation), the timestamp tolerance, and the public URL the vendor calls.
 */
function webhookFields(options: ConfigSchemaOptions) {
  return {
    /** The secret holding `{"signingSecret": "...", "previousSigningSecret"?: "..."}`. */
    secret: secretName,
    /** How far the signed timestamp may be from now, either way, in seconds. */
    toleranceSeconds: z.int().min(1).max(3_600).default(DEFAULT_WEBHOOK_TOLERANCE_SECONDS),
    /**
     * How long a delivery's event id is remembered, so that the vendor's retries of it are published
     * once, in seconds: 3 days by default (Stripe retries a delivery for up to 3 days).
     */
    dedupeWindowSeconds: z.int().min(60).max(2_592_000).default(259_200),
    /**
     * The URL the vendor calls, when it is not the API's own (a custom domain): Twilio signs it.
     * @default the URL the request arrived at
     */
    publicUrl: secureUrl(options).optional(),
  };
}

function httpConnectorSchema(options: ConfigSchemaOptions) {
  const schema = z.strictObject({
    kind: z.literal('http'),
    ...commonConnectorFields(),
    baseUrl: secureUrl(options),
    auth: authSchema(options).default({ type: 'none' }),
    /**
     * Receive the API's webhooks at `POST /v1/webhooks/{name}`, signed per the Standard Webhooks
     * specification (docs/webhooks.md). @default none: no webhook route
     */
    webhook: z.strictObject({ scheme: z.literal('standardWebhooks'), ...webhookFields(options) }).optional(),
    /**
     * Send the caller's `Idempotency-Key` upstream as `Idempotency-Key` (only where the API honours
     * it: with the key, POST and PATCH are retried like idempotent methods). Vendor connectors
     * decide this themselves (Stripe sends it, Slack has no such header).
     */
    forwardIdempotencyKey: z.boolean().default(false),
    /** Methods callers may use. */
    allowedMethods: z.array(z.enum(HTTP_METHODS)).min(1).default(['GET']),
    /** Path prefixes callers may reach, matched on whole segments (`/a` allows `/a` and `/a/b`, not `/ab`). */
    allowedPathPrefixes: z.array(pathPrefix).min(1),
    /**
     * Request headers callers may set, in any case; any other answers `VALIDATION_ERROR`.
     * @default {@link DEFAULT_ALLOWED_REQUEST_HEADERS}; those of {@link FORBIDDEN_REQUEST_HEADERS}
     *   and the `apiKey` credential's header are refused
     */
    allowedRequestHeaders: z
      .array(allowedRequestHeader)
      .max(100)
      .default([...DEFAULT_ALLOWED_REQUEST_HEADERS]),
  });
  return schema.superRefine(refuseApiKeyHeader);
}

/**
 * The vendors with a connector kind of their own, and the API each talks to unless `baseUrl` says
 * otherwise (a mock, GitHub Enterprise's `https://HOST/api/v3`, a regional endpoint).
 */
export const VENDOR_BASE_URLS = {
  stripe: 'https://api.stripe.com',
  slack: 'https://slack.com/api',
  github: 'https://api.github.com',
  twilio: 'https://api.twilio.com',
} as const;
/** A vendor connector kind. */
export type VendorKind = keyof typeof VENDOR_BASE_URLS;

function vendorConnectorSchema<K extends VendorKind>(kind: K, options: ConfigSchemaOptions) {
  return z.strictObject({
    kind: z.literal(kind),
    ...commonConnectorFields(),
    /** The vendor's API base URL. */
    baseUrl: secureUrl(options).default(VENDOR_BASE_URLS[kind]),
    /** The secret holding the vendor credentials (its shape is documented per vendor). */
    secret: secretName,
    /**
     * Receive the vendor's webhooks at `POST /v1/webhooks/{name}`, verified with the vendor's own
     * scheme (docs/webhooks.md). @default none: no webhook route
     */
    webhook: z.strictObject(webhookFields(options)).optional(),
  });
}

/** How an `openapi` connector checks the vendor's answers against the description. */
export const RESPONSE_VALIDATION_MODES = ['enforce', 'warn', 'off'] as const;

/**
 * The trimmed description an `openapi` entry's `spec` path is replaced with when the suite file is
 * loaded (`OpenApiDescription`, functions/openapi/description.ts); checked shallowly here.
 */
const openapiDescriptionSchema = z.object({
  source: z.string(),
  dialect: z.enum(['3.0', '3.1']),
  baseUrl: z.string().optional(),
  apiKey: z.object({ in: z.enum(['header', 'query']), name: z.string() }).optional(),
  operations: z.record(
    z.string(),
    z.looseObject({
      method: z.enum(HTTP_METHODS),
      path: z.string().startsWith('/'),
      parameters: z.array(z.looseObject({ name: z.string(), in: z.enum(['path', 'query', 'header']) })),
      responses: z.record(z.string(), z.unknown()),
    }),
  ),
});

/** The `openapi` kind (docs/connectors/openapi.md): operations from a vendor's API description. */
function openapiConnectorSchema(options: ConfigSchemaOptions) {
  return z
    .strictObject({
      kind: z.literal('openapi'),
      ...commonConnectorFields(),
      /**
       * The description file (OpenAPI 3.0, 3.1 or Swagger 2.0, JSON or YAML), absolute or relative to the
       * suite file; `loadSuiteConfig` replaces it with the trimmed description of `operations`.
       */
      spec: z.union([z.string().min(1), openapiDescriptionSchema]),
      /** The `operationId`s exposed, each an operation of the connector; nothing else is. */
      operations: z
        .array(z.string().min(1).max(256))
        .min(1, 'must list at least one operationId')
        .refine((ids) => new Set(ids).size === ids.length, 'must not list an operationId twice'),
      /** The API's base URL. @default the description's first server (Swagger 2.0: scheme, host, basePath) */
      baseUrl: secureUrl(options),
      /**
       * How requests authenticate, as for an `http` connector; an `apiKey` without `in` and `name`
       * takes them from the description's `securitySchemes`. @default none
       */
      auth: authSchema(options).default({ type: 'none' }),
      /** Check answers against the documented schema: fail (`enforce`), log the fields (`warn`) or not. */
      responseValidation: z.enum(RESPONSE_VALIDATION_MODES).default('warn'),
    })
    .superRefine((entry, ctx) => {
      if (typeof entry.spec === 'string') {
        ctx.addIssue({
          code: 'custom',
          message:
            'is a description file not yet read: load the suite with loadSuiteConfig, or pass it through resolveOpenApiSpecs (connector-suite/cdk) before the construct',
          path: ['spec'],
        });
        return;
      }
      const known = entry.spec.operations;
      entry.operations.forEach((id, i) => {
        if (!Object.hasOwn(known, id)) {
          ctx.addIssue({
            code: 'custom',
            message: `'${id}' is not in the loaded description`,
            path: ['operations', i],
          });
        }
      });
    });
}

/** The built-in connector kinds: `http`, `openapi` and the vendors of {@link VENDOR_BASE_URLS}. */
export const BUILTIN_KIND_NAMES = ['http', 'stripe', 'slack', 'github', 'twilio', 'openapi'] as const;
/** A built-in connector kind. */
export type BuiltinKindName = (typeof BUILTIN_KIND_NAMES)[number];

/** Whether `kind` names a built-in connector kind. */
export function isBuiltinKind(kind: string): kind is BuiltinKindName {
  return (BUILTIN_KIND_NAMES as readonly string[]).includes(kind);
}

/** Whether `kind` names a built-in vendor kind (one whose SDK adds its own credentials). */
export function isVendorKind(kind: string): kind is VendorKind {
  return Object.hasOwn(VENDOR_BASE_URLS, kind);
}

/** A connector kind's name: lowercase letters, digits and `-`, starting with a letter, at most 40. */
export const KIND_NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/** The base of a custom kind's entry: what an `http` connector has, less its request rules. */
function customConnectorBaseSchema(options: ConfigSchemaOptions) {
  return z.strictObject({
    ...commonConnectorFields(),
    /** The API's base URL (https; loopback http in local mode only). */
    baseUrl: secureUrl(options),
    /** How the runtime authenticates each request the kind sends with `ctx.send`. */
    auth: authSchema(options).default({ type: 'none' }),
    /** Send the caller's `Idempotency-Key` upstream, as for an `http` connector. */
    forwardIdempotencyKey: z.boolean().default(false),
  });
}

/** An empty strict object: the settings of a kind that declares none. */
const NO_SETTINGS = z.strictObject({});

function customConnectorSchema(kind: ConfigKind, options: ConfigSchemaOptions) {
  return customConnectorBaseSchema(options).extend({
    kind: z.literal(kind.kind),
    /** The kind's own fields, validated (and defaulted) by the kind's `settings` schema. */
    settings: (kind.settings ?? NO_SETTINGS).prefault({}),
  });
}

/**
 * The custom kinds of `kinds`: those not named after a built-in kind.
 * @throws ConfigValidationError when a name does not match {@link KIND_NAME_PATTERN} or two share one
 */
function customKinds(kinds: readonly ConfigKind[] = []): ConfigKind[] {
  const issues: string[] = [];
  const seen = new Map<string, ConfigKind>();
  const custom: ConfigKind[] = [];
  kinds.forEach((kind, i) => {
    if (typeof kind?.kind !== 'string' || !KIND_NAME_PATTERN.test(kind.kind)) {
      issues.push(
        `kinds[${i}].kind: must start with a lowercase letter and use only a-z, 0-9 and -, at most 40`,
      );
      return;
    }
    const earlier = seen.get(kind.kind);
    // The same kind listed twice is harmless; two kinds of one name are not.
    if (earlier !== undefined && earlier !== kind) {
      issues.push(`kinds[${i}].kind: two different kinds are registered as '${kind.kind}'`);
    } else if (earlier === undefined && !isBuiltinKind(kind.kind)) {
      custom.push(kind);
    }
    seen.set(kind.kind, kind);
  });
  if (issues.length > 0) throw new ConfigValidationError('the registered connector kinds', issues);
  return custom;
}

/** The message of an entry whose `kind` is none of `known`. */
function unknownKindMessage(known: readonly string[]) {
  return (issue: { code?: string; note?: string; input?: unknown }) => {
    if (issue.code !== 'invalid_union' || issue.note !== 'No matching discriminator') return undefined;
    const input = issue.input as { kind?: unknown } | undefined;
    const kind = typeof input?.kind === 'string' ? `'${input.kind.slice(0, 64)}' is not` : 'must name';
    return `${kind} a registered connector kind; the kinds known are ${known.join(', ')} (register a kind of your own with kinds: [connectorKind(...)])`;
  };
}

/** The union of every kind's entry schema; typed as the built-in kinds' union. */
function connectorUnion(options: SchemaOptions) {
  const builtins = [
    httpConnectorSchema(options),
    vendorConnectorSchema('stripe', options),
    vendorConnectorSchema('slack', options),
    vendorConnectorSchema('github', options),
    vendorConnectorSchema('twilio', options),
    openapiConnectorSchema(options),
  ] as const;
  const custom = customKinds(options.kinds);
  const members = [...builtins, ...custom.map((kind) => customConnectorSchema(kind, options))];
  return z
    .discriminatedUnion('kind', members as unknown as typeof builtins, {
      error: unknownKindMessage([...BUILTIN_KIND_NAMES, ...custom.map((kind) => kind.kind)]),
    })
    .superRefine(checkAsyncLimits);
}

/**
 * The schema of one connector entry, by `kind`: a built-in kind's own schema, or, for a kind of
 * `options.kinds`, the fields of an `http` connector but its request rules (`allowedMethods`,
 * `allowedPathPrefixes`, `allowedRequestHeaders`: the kind's operations decide what they send) plus
 * `settings`, checked by the kind's schema. An unknown `kind` is refused, naming the kinds known.
 * @param options - see {@link ConfigSchemaOptions} and {@link KindsConfigSchemaOptions}
 * @throws ConfigValidationError when `options.kinds` is malformed (see {@link KindsConfigSchemaOptions.kinds})
 */
export function connectorConfigSchema(
  options: KindsConfigSchemaOptions,
): z.ZodType<AnyConnectorConfig, AnyConnectorConfigInput>;
export function connectorConfigSchema(options?: ConfigSchemaOptions): ReturnType<typeof connectorUnion>;
export function connectorConfigSchema(options: SchemaOptions = {}) {
  return connectorUnion(options);
}

/** The REST API in front of the connectors (the suite's `api` block). */
const apiSchema = z.strictObject({
  /** How callers authenticate: SigV4 (`iam`) or an API key with a usage plan (`apiKey`). */
  authorization: z.enum(['iam', 'apiKey']).default('iam'),
  /** Stage-wide steady request rate, per second. */
  throttlingRateLimit: z.number().gt(0).max(10_000).default(100),
  /** Stage-wide burst, in requests. */
  throttlingBurstLimit: z.int().min(1).max(5_000).default(200),
});

/** A secret the stack imports instead of creating: by complete or partial ARN, or by name. */
const secretImportSchema = z.union([
  z.strictObject({
    arn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
        'must be a Secrets Manager secret ARN',
      ),
  }),
  z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name'),
  }),
]);

/**
 * The resource id a name becomes in the stack (construct ids, output names): `my-api` → `MyApi`.
 * Two names with the same id would collide, so the schema refuses them.
 */
export function resourceId(name: string): string {
  return name
    .split(/[^A-Za-z0-9]/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function suiteSchema(options: SchemaOptions) {
  return z
    .strictObject({
      connectors: z.array(connectorUnion(options)).min(1, 'must list at least one connector'),
      /**
       * The bus the request rules listen on and result events go to: a bus the stack creates
       * (`suite`) or the account's `default` bus.
       */
      eventBus: z.enum(['suite', 'default']).default('suite'),
      /** The REST API in front of the connectors. */
      api: apiSchema.default(apiSchema.parse({})),
      /**
       * Secrets to import rather than create, by `auth.secret` name; a secret not listed here is
       * created (empty) by the stack.
       */
      secrets: z.record(z.string(), secretImportSchema).default({}),
    })
    .superRefine((suite, ctx) => {
      const names = new Map<string, string>();
      const secretIds = new Map<string, string>();
      suite.connectors.forEach((c, i) => {
        const clash = names.get(resourceId(c.name));
        if (clash !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message:
              clash === c.name
                ? `duplicate connector name '${c.name}'`
                : `'${c.name}' and '${clash}' would share the resource id ${resourceId(c.name)}; rename one`,
            path: ['connectors', i, 'name'],
          });
        }
        names.set(resourceId(c.name), c.name);
        const ownPath = isVendorKind(c.kind)
          ? ['connectors', i, 'secret']
          : ['connectors', i, 'auth', 'secret'];
        const webhookSecret = webhookOf(c)?.secret;
        for (const [secret, path] of [
          [secretNameOf(c), ownPath],
          [webhookSecret, ['connectors', i, 'webhook', 'secret']],
        ] as const) {
          if (secret === undefined) continue;
          const secretClash = secretIds.get(resourceId(secret));
          if (secretClash !== undefined && secretClash !== secret) {
            ctx.addIssue({
              code: 'custom',
              message: `'${secret}' and '${secretClash}' would share the resource id ${resourceId(secret)}; rename one`,
              path: [...path],
            });
          }
          secretIds.set(resourceId(secret), secret);
        }
      });
      const used = new Set(
        suite.connectors.flatMap((c) =>
          [secretNameOf(c), webhookOf(c)?.secret].filter((n) => n !== undefined),
        ),
      );
      for (const name of Object.keys(suite.secrets)) {
        if (!used.has(name)) {
          ctx.addIssue({ code: 'custom', message: 'no connector uses this secret', path: ['secrets', name] });
        }
      }
    });
}

/**
 * The schema of the suite: `{connectors, api, eventBus, secrets}`, with unique connector names,
 * names that map to distinct resource ids, and no imported secret that no connector uses.
 * @param options - see {@link ConfigSchemaOptions}; with `kinds` ({@link KindsConfigSchemaOptions}), entries of those kinds too
 * @throws ConfigValidationError when `options.kinds` is malformed (see {@link KindsConfigSchemaOptions.kinds})
 */
export function suiteConfigSchema(
  options: KindsConfigSchemaOptions,
): z.ZodType<SuiteConfig<AnyConnectorConfig>, SuiteConfigInput>;
export function suiteConfigSchema(options?: ConfigSchemaOptions): ReturnType<typeof suiteSchema>;
export function suiteConfigSchema(options: SchemaOptions = {}) {
  return suiteSchema(options);
}

/** A validated connector entry of a built-in kind, defaults applied. */
export type ConnectorConfig = z.output<ReturnType<typeof connectorUnion>>;
/** A validated `http` connector entry. */
export type HttpConnectorConfig = Extract<ConnectorConfig, { kind: 'http' }>;
/** A validated `openapi` entry (its `spec` the trimmed description once the suite file is loaded). */
export type OpenApiConnectorConfig = Extract<ConnectorConfig, { kind: 'openapi' }>;
/** A validated entry of a vendor connector kind. */
export type VendorConnectorConfig<K extends VendorKind = VendorKind> = Extract<ConnectorConfig, { kind: K }>;

/**
 * A validated entry of a connector kind of your own (see {@link KindsConfigSchemaOptions.kinds}),
 * defaults applied: the common fields, `baseUrl`, `auth` and `forwardIdempotencyKey` as for an
 * `http` connector, and `settings` as the kind's schema returns it.
 * @typeParam S - the kind's settings (the output of its `settings` schema)
 * @typeParam K - the kind's name
 */
export type CustomConnectorConfig<
  S extends Record<string, unknown> = Record<string, unknown>,
  K extends string = string,
> = Omit<z.output<ReturnType<typeof customConnectorBaseSchema>>, 'kind' | 'settings'> & {
  kind: K;
  settings: S;
};
/** A connector entry of a kind of your own as a user writes it: defaults may be left out. */
export type CustomConnectorConfigInput = z.input<ReturnType<typeof customConnectorBaseSchema>> & {
  kind: string;
  settings?: Record<string, unknown>;
};
/**
 * A validated connector entry of any kind, built-in or your own. Switch on {@link isVendorKind} or
 * {@link isBuiltinKind} rather than on `kind` alone: `kind === 'http'` does not rule out a custom kind
 * for the compiler.
 */
export type AnyConnectorConfig = ConnectorConfig | CustomConnectorConfig;
/** A connector entry of any kind as a user writes it. */
export type AnyConnectorConfigInput = z.input<ReturnType<typeof connectorUnion>> | CustomConnectorConfigInput;

/** Whether `config` is of a built-in vendor kind (`stripe`, `slack`, `github`, `twilio`). */
export function isVendorConnector(config: AnyConnectorConfig): config is VendorConnectorConfig {
  return isVendorKind(config.kind);
}

/**
 * The secret a connector reads: `secret` of a vendor connector, `auth.secret` of an `http` connector
 * or one of a kind of your own (none for `auth.type: none`).
 */
export function secretNameOf(config: AnyConnectorConfig): string | undefined {
  if (isVendorConnector(config)) return config.secret;
  return 'secret' in config.auth ? config.auth.secret : undefined;
}

/** A connector's `webhook` setting with its scheme: the vendor's kind, or `standardWebhooks`. */
export interface WebhookSettings {
  /** The signature scheme: the vendor kind's own, or `standardWebhooks` for an `http` connector. */
  readonly scheme: VendorKind | 'standardWebhooks';
  /** The secret holding `{"signingSecret", "previousSigningSecret"?}`. */
  readonly secret: string;
  /** How far the signed timestamp may be from now, in seconds. @default 300 */
  readonly toleranceSeconds: number;
  /** How long an event id is remembered for deduplication, in seconds. @default 259,200 (3 days) */
  readonly dedupeWindowSeconds: number;
  /** The URL the vendor calls, when it is not the route's own. @default none */
  readonly publicUrl?: string | undefined;
}

/**
 * The `webhook` setting of a connector, with its scheme made explicit; none when the connector has
 * no webhook route (a kind of your own never has one).
 */
export function webhookOf(config: AnyConnectorConfig): WebhookSettings | undefined {
  if (isVendorConnector(config)) {
    return config.webhook === undefined ? undefined : { scheme: config.kind, ...config.webhook };
  }
  if (config.kind !== 'http' || !('webhook' in config)) return undefined;
  return (config as HttpConnectorConfig).webhook;
}

/**
 * The auth scheme the runtime's HTTP client applies to a connector's requests: none for a built-in
 * vendor kind (its SDK adds the vendor's credentials), the entry's `auth` for an `http` connector and
 * for a kind of your own.
 */
export function clientAuthOf(config: AnyConnectorConfig): AuthConfig {
  return isVendorConnector(config) ? { type: 'none' } : config.auth;
}

/**
 * A validated suite, defaults applied.
 * @typeParam C - its connector entries: built-in kinds only unless parsed with `kinds`
 */
export type SuiteConfig<C extends AnyConnectorConfig = ConnectorConfig> = Omit<
  z.output<ReturnType<typeof suiteSchema>>,
  'connectors'
> & { connectors: C[] };
/** What a user writes: defaults may be left out; entries may be of kinds of your own. */
export type SuiteConfigInput = Omit<z.input<ReturnType<typeof suiteSchema>>, 'connectors'> & {
  connectors: AnyConnectorConfigInput[];
};
/** The auth settings of an `http` connector. */
export type AuthConfig = HttpConnectorConfig['auth'];

/** Thrown when a configuration does not match the schema; the message names every bad field. */
export class ConfigValidationError extends Error {
  override readonly name = 'ConfigValidationError';
  /** One line a problem: `connectors[0].baseUrl: must use https`. */
  readonly issues: readonly string[];

  constructor(source: string, issues: readonly string[]) {
    super(`Invalid configuration in ${source}:\n  - ${issues.join('\n  - ')}`);
    this.issues = issues;
  }
}

/** Renders a zod path as `connectors[0].auth.secret`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/**
 * One line per zod issue: `path: message`. With `schema`, an unknown key gets the closest key the
 * schema accepts at that place (`connectors[0]: Unrecognized key: "timeoutMS" (did you mean
 * \`timeoutMs\`?)`); with `input`, a bad value read from the environment names its variable
 * (`connectors[0].baseUrl: must use https (from HTTPBIN_URL)`, see `fromEnvironment` in `config-env.ts`).
 * @param schema - the schema that produced `error`; @default none: no suggestions
 * @param input - the value that was parsed; @default none: no variable names
 */
export function formatIssues(error: z.ZodError, schema?: z.ZodType, input?: unknown): string[] {
  return error.issues.map((issue) => {
    let line = `${formatPath(issue.path) || '(root)'}: ${issue.message}`;
    if (issue.code === 'unrecognized_keys' && schema !== undefined) {
      line += unknownKeyHints(issue.keys, knownKeysAt(schema, issue.path, input));
    }
    if (input !== undefined) {
      const variables = environmentSources(valueAt(input, issue.path));
      if (variables.length > 0) line += ` (from ${variables.join(' or ')})`;
    }
    return line;
  });
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, source: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ConfigValidationError(source, formatIssues(result.error, schema, value));
  return result.data;
}

/**
 * Validates a suite configuration and applies defaults.
 * @param value - the parsed file content or default export
 * @param source - where it came from, for the error message (a file path)
 * @param options - see {@link ConfigSchemaOptions}; with `kinds` ({@link KindsConfigSchemaOptions}), entries of kinds of your own too
 * @throws {@link ConfigValidationError} naming every bad field (and malformed `options.kinds`)
 */
export function parseSuiteConfig(
  value: unknown,
  source: string,
  options: KindsConfigSchemaOptions,
): SuiteConfig<AnyConnectorConfig>;
export function parseSuiteConfig(value: unknown, source: string, options?: ConfigSchemaOptions): SuiteConfig;
export function parseSuiteConfig(
  value: unknown,
  source: string,
  options: SchemaOptions = {},
): SuiteConfig<AnyConnectorConfig> {
  return parseWith(suiteSchema(options), value, source);
}

/**
 * Validates one connector entry (as a deployed function reads it from `CONNECTOR_CONFIG`).
 * @param options - see {@link ConfigSchemaOptions}; with `kinds` ({@link KindsConfigSchemaOptions}), entries of kinds of your own too
 * @throws {@link ConfigValidationError} naming every bad field (and malformed `options.kinds`)
 */
export function parseConnectorConfig(
  value: unknown,
  source: string,
  options: KindsConfigSchemaOptions,
): AnyConnectorConfig;
export function parseConnectorConfig(
  value: unknown,
  source: string,
  options?: ConfigSchemaOptions,
): ConnectorConfig;
export function parseConnectorConfig(
  value: unknown,
  source: string,
  options: SchemaOptions = {},
): AnyConnectorConfig {
  return parseWith(connectorUnion(options), value, source);
}

/** Typed helper for `suite.config.ts`: returns its argument, checked by the compiler. */
export function defineSuite(config: SuiteConfigInput): SuiteConfigInput {
  return config;
}
