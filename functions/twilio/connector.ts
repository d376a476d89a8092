/**
 * The `twilio` connector kind: Twilio Programmable Messaging through the official `twilio` SDK, with
 * every HTTP request of the SDK sent through the connector's policies.
 *
 * One operation, `sendSms`: Twilio's `CreateMessage`
 * (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP Basic with the Account
 * SID and Auth Token; https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
 *
 * How the SDK is wired: only its Messages resource is loaded ({@link createTwilioMessages}), and its
 * requests go to {@link PolicyRequestClient}, which form-encodes what the SDK sends, adds the Basic
 * credentials the SDK hands it, rewrites the URL onto the connector's `baseUrl` and sends it with the
 * runtime's policy `fetch` (timeout, deadline, retries, breaker, rate limit, redacted logs, traces).
 * The SDK's own retries (its axios `RequestClient`'s) never run.
 *
 * Secret (JSON): `{"accountSid": "AC...", "authToken": "..."}`.
 */
import os from 'node:os';
import domainModule from 'twilio/lib/base/Domain.js';
import versionModule from 'twilio/lib/base/Version.js';
import type V2010Module from 'twilio/lib/rest/api/V2010.js';
import { type MessageInstance, MessageListInstance } from 'twilio/lib/rest/api/v2010/account/message.js';
import twilioPackage from 'twilio/package.json' with { type: 'json' };
import * as z from 'zod';
import { basicCredential } from '../shared/auth/types.js';
import type { VendorConnectorConfig } from '../shared/config.js';
import { ConnectorError } from '../shared/errors.js';
import {
  defineConnector,
  defineOperation,
  defineVendor,
  type VendorClientTools,
} from '../shared/runtime/index.js';
import { mapTwilioError } from './errors.js';

/** A `twilio` connector's validated config. */
export type TwilioConnectorConfig = VendorConnectorConfig<'twilio'>;

/** The fields of a `twilio` connector's secret. */
export interface TwilioCredentials {
  /** The Account SID: `AC` and 32 hexadecimal digits; the Basic user name and the `{AccountSid}` of every path. */
  readonly accountSid: string;
  /** The account's Auth Token: the Basic password. */
  readonly authToken: string;
}

/** A Twilio Account SID (https://www.twilio.com/docs/glossary/what-is-a-sid). */
export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

/**
 * What the Twilio SDK hands its `httpClient.request` (the subset of `RequestClient.RequestOptions` of
 * `twilio/lib/base/RequestClient.d.ts` this client reads).
 */
export interface TwilioRequestOptions {
  /** Lower-case HTTP method, e.g. `post`. */
  method: string;
  /** The absolute URL the SDK built, e.g. `https://api.twilio.com/2010-04-01/Accounts/AC.../Messages.json`. */
  uri: string;
  /** Basic user name (the Account SID). */
  username?: string;
  /** Basic password (the Auth Token). */
  password?: string;
  /** The SDK's OAuth strategy, when configured instead of Basic credentials. */
  authStrategy?: { getAuthString(): Promise<string> };
  /** Headers the SDK sets: `User-Agent`, `Accept-Charset`, `Content-Type`, `Accept`. */
  headers?: Record<string, string>;
  /** Query parameters (array values repeat the key). */
  params?: object;
  /** The form fields (array values repeat the key), already serialized by the SDK. */
  data?: object;
}

/** What `httpClient.request` returns to the SDK. */
export interface TwilioHttpResponse {
  statusCode: number;
  /** The parsed JSON body, or the text when it is not JSON (the SDK parses strings itself). */
  body: unknown;
  /** Response headers, lower-case names. */
  headers: Record<string, string>;
}

/** Headers a `fetch` request may not carry or that the transport owns. */
const TRANSPORT_HEADERS = new Set([
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'host',
]);

/**
 * The URL the SDK built, moved onto the connector's base URL: the SDK always speaks to
 * `https://api.twilio.com` (or a regional `api.{edge}.{region}.twilio.com` when `TWILIO_EDGE` or
 * `TWILIO_REGION` is set); its origin is replaced by `baseUrl`'s, the path appended to `baseUrl`'s path,
 * the query kept. So `baseUrl` alone decides where requests go: a mock, a proxy or a regional endpoint.
 *
 * @throws ConnectorError `INTERNAL_ERROR` when the SDK asks for a URL that is not a Twilio API host
 */
export function rewriteTwilioUrl(uri: string, baseUrl: string): URL {
  const requested = new URL(uri);
  const host = requested.hostname.toLowerCase();
  if (requested.protocol !== 'https:' || !/^api(\.[a-z0-9-]+)*\.twilio\.com$/.test(host)) {
    throw new ConnectorError(
      'INTERNAL_ERROR',
      `The Twilio SDK asked for an unexpected host ${requested.origin}.`,
    );
  }
  const base = new URL(baseUrl);
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${requested.pathname}`;
  url.search = requested.search;
  url.hash = '';
  return url;
}

/** Appends `fields` to `target`, an array value as a repeated key (the SDK's `qs` `arrayFormat: repeat`). */
function appendFields(target: URLSearchParams, fields: object): void {
  for (const [key, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      target.append(key, item instanceof Date ? item.toISOString() : String(item));
    }
  }
}

/**
 * The Twilio SDK's `httpClient`, sending through the runtime's policy `fetch` instead of axios.
 *
 * It keeps what the SDK sets (headers, method, query, `application/x-www-form-urlencoded` body), adds
 * `Authorization: Basic base64(username:password)` from the credentials the SDK passes (or the SDK's
 * auth strategy), moves the URL onto `baseUrl` ({@link rewriteTwilioUrl}) and returns
 * `{statusCode, body, headers}` for every answer, error or not: the SDK turns non-2xx answers into
 * its own exceptions. The SDK's `timeout` is ignored (the connector's `timeoutMs` and deadline rule).
 * Only `request` is implemented: it is all the SDK's `BaseTwilio.request` calls.
 */
export class PolicyRequestClient {
  readonly #fetch: typeof fetch;
  readonly #baseUrl: string;
  readonly #registerSecret: (value: string) => void;

  /**
   * @param fetchFn - the policy fetch (`VendorClientTools.fetch`)
   * @param baseUrl - the connector's `baseUrl`
   * @param registerSecret - registers the Basic credential it derives with the redactor
   */
  constructor(fetchFn: typeof fetch, baseUrl: string, registerSecret: (value: string) => void) {
    this.#fetch = fetchFn;
    this.#baseUrl = baseUrl;
    this.#registerSecret = registerSecret;
  }

  /**
   * Sends one SDK request.
   * @throws ConnectorError as the policy fetch does (timeout, breaker, rate limit, connection), or
   *   `UPSTREAM_ERROR` when a 2xx answer is not JSON
   */
  async request(opts: TwilioRequestOptions): Promise<TwilioHttpResponse> {
    const method = opts.method.toUpperCase();
    const url = rewriteTwilioUrl(opts.uri, this.#baseUrl);
    if (opts.params) {
      const query = new URLSearchParams(url.search);
      appendFields(query, opts.params);
      url.search = query.toString();
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (!TRANSPORT_HEADERS.has(name.toLowerCase())) headers.set(name, value);
    }
    if (opts.username && opts.password) {
      const credential = basicCredential(opts.username, opts.password);
      // A value derived from the secret: redacted wherever it could appear (an echoed header).
      this.#registerSecret(credential);
      headers.set('authorization', `Basic ${credential}`);
    } else if (opts.authStrategy) {
      headers.set('authorization', await opts.authStrategy.getAuthString());
    }
    let body: string | undefined;
    if (opts.data && method !== 'GET' && method !== 'HEAD') {
      const contentType = headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
      if (contentType === 'application/json') {
        body = JSON.stringify(opts.data);
      } else {
        const form = new URLSearchParams();
        appendFields(form, opts.data);
        body = form.toString();
        if (contentType === undefined) headers.set('content-type', 'application/x-www-form-urlencoded');
      }
    }
    const response = await this.#fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    const answer: TwilioHttpResponse = {
      statusCode: response.status,
      body: text,
      headers: Object.fromEntries(response.headers.entries()),
    };
    if (text !== '') {
      try {
        answer.body = JSON.parse(text);
      } catch {
        if (response.status >= 200 && response.status < 300) {
          throw new ConnectorError(
            'UPSTREAM_ERROR',
            `Twilio answered ${response.status} with a body that is not JSON.`,
            {
              upstreamStatus: response.status,
              retryable: false,
            },
          );
        }
      }
    }
    return answer;
  }
}

/** Twilio's REST API host, the base URL of its `api` domain (`twilio/lib/rest/ApiBase`). */
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';

/**
 * The SDK's `User-Agent` (`BaseTwilio.Client.request` of the `twilio` package):
 * `twilio-node/{version} ({platform} {arch}) node/{node version}`.
 */
export const TWILIO_USER_AGENT = `twilio-node/${twilioPackage.version} (${os.platform()} ${os.arch()}) node/${process.version}`;

/**
 * A class the SDK's CommonJS modules export as `exports.default`: Node and esbuild import such a
 * module's default as `module.exports` (the class is its `default`), Vite (the tests) as the class.
 */
function commonJsDefault<T>(module: { default: T }): T {
  return typeof module === 'function' ? (module as T) : module.default;
}

/** What the SDK's `Domain` asks of its client: one `request` (`BaseTwilio.Client.request`'s contract). */
interface TwilioRequester {
  request(opts: TwilioRequestOptions): Promise<TwilioHttpResponse>;
}

/**
 * The SDK's `Domain.request` reaches its client's `request`, which this does as the SDK's
 * `BaseTwilio.Client.request` does for Basic credentials: `User-Agent`, `Accept-Charset: utf-8`, a
 * form `Content-Type` on POST and PUT, `Accept: application/json` except on DELETE, the Account SID
 * and Auth Token as Basic credentials, then `httpClient.request`. The SDK's `TWILIO_EDGE` and
 * `TWILIO_REGION` host rewriting is left out: {@link rewriteTwilioUrl} replaces the origin anyway.
 */
function basicRequester(credentials: TwilioCredentials, httpClient: PolicyRequestClient): TwilioRequester {
  return {
    request(opts) {
      const headers: Record<string, string> = { ...opts.headers };
      headers['User-Agent'] = TWILIO_USER_AGENT;
      headers['Accept-Charset'] = 'utf-8';
      if ((opts.method === 'post' || opts.method === 'put') && !headers['Content-Type']) {
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
      }
      if (opts.method !== 'delete' && !headers.Accept) headers.Accept = 'application/json';
      return httpClient.request({
        ...opts,
        username: opts.username || credentials.accountSid,
        password: opts.password || credentials.authToken,
        headers,
      });
    },
  };
}

/**
 * The SDK's Messages resource of one account (`client.messages` of the full client), built from the
 * SDK's own `Domain`, `Version` (`2010-04-01`) and `MessageListInstance`, without the `twilio`
 * entry point: that loads every Twilio product and the SDK's axios `RequestClient` (about 3.3 MB of a
 * 4 MB bundle), where the connector uses Messages only and sends through `httpClient`. The SDK's
 * own 429 retries live in that `RequestClient`, so none happen here (the connector's policies retry).
 */
export function createTwilioMessages(
  credentials: TwilioCredentials,
  httpClient: PolicyRequestClient,
): MessageListInstance {
  const Domain = commonJsDefault(domainModule);
  const Version = commonJsDefault(versionModule);
  // `Domain` only calls its client's `request`; the SDK's type is the whole `BaseTwilio.Client`.
  const client = basicRequester(credentials, httpClient) as unknown as ConstructorParameters<
    typeof Domain
  >[0];
  const domain = new Domain(client, TWILIO_API_BASE_URL);
  // `MessageListInstance` reads only what `Version` has; V2010 adds its other resources' lists.
  const version = new Version(domain, '2010-04-01') as unknown as V2010Module.default;
  return MessageListInstance(version, credentials.accountSid);
}

const SID = (prefix: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${prefix}[0-9a-fA-F]{32}$`),
      `must be a ${prefix} SID ('${prefix}' and 32 hex digits)`,
    );
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });

/**
 * The input of `sendSms`, in the SDK's parameter names (`MessageListInstanceCreateOptions` of the
 * `twilio` package), after Twilio's `CreateMessage`
 * (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource): `to`, one of
 * `from` or `messagingServiceSid`, and one of `body`, `mediaUrl` or `contentSid`. Unknown fields are
 * refused.
 */
export const sendSmsInputSchema = z
  .strictObject({
    /** The recipient: E.164 (`+14155552345`) or a channel address (`whatsapp:+14155552345`). */
    to: z.string().min(1).max(256),
    /** The sender: a Twilio number in E.164, an alphanumeric sender ID, a short code or a channel address. */
    from: z.string().min(1).max(256).optional(),
    /** The Messaging Service (`MG...`) that picks the sender when `from` is absent. */
    messagingServiceSid: SID('MG').optional(),
    /** The text, at most 1600 characters (https://www.twilio.com/docs/api/errors/21617). */
    body: z.string().min(1).max(1600).optional(),
    /** Up to 10 media URLs (MMS). */
    mediaUrl: z.array(httpUrl).min(1).max(10).optional(),
    /** A Content Template (`HX...`) to send instead of `body`. */
    contentSid: SID('HX').optional(),
    /** The template's variables, a JSON object as a string (`{"1": "Ada"}`); with `contentSid` only. */
    contentVariables: z.string().min(2).optional(),
    /** Where Twilio posts status changes of the message. */
    statusCallback: httpUrl.optional(),
    /** Seconds the message may wait in Twilio's queue before it is dropped, 1 to 36000. @default 36000 */
    validityPeriod: z.int().min(1).max(36_000).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.from === undefined && input.messagingServiceSid === undefined) {
      ctx.addIssue({ code: 'custom', message: 'from or messagingServiceSid is required', path: ['from'] });
    }
    if (input.body === undefined && input.mediaUrl === undefined && input.contentSid === undefined) {
      ctx.addIssue({ code: 'custom', message: 'body, mediaUrl or contentSid is required', path: ['body'] });
    }
    if (input.contentVariables !== undefined && input.contentSid === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs contentSid', path: ['contentVariables'] });
    }
  });

/** The input of `sendSms`. */
export type SendSmsInput = z.output<typeof sendSmsInputSchema>;

const isoDate = z.iso.datetime().nullable();

/**
 * The output of `sendSms`: Twilio's Message resource as the SDK's `MessageInstance` names it
 * (camelCase: `dateCreated`, `errorCode`, ...), not the API's snake_case, with the dates as ISO 8601
 * UTC strings (`2023-08-24T05:01:45.000Z`; Twilio sends RFC 2822). Other fields pass through.
 */
export const messageOutputSchema = z.looseObject({
  /** The message's SID: `SM...` (SMS) or `MM...` (MMS). */
  sid: z.string().min(1),
  accountSid: z.string().nullable(),
  /** `queued` or `accepted` right after creation; later `sending`, `sent`, `delivered`, `failed`, ... */
  status: z.string().min(1),
  to: z.string().nullable(),
  from: z.string().nullable(),
  body: z.string().nullable(),
  messagingServiceSid: z.string().nullable(),
  /** `outbound-api` for a message sent through the API. */
  direction: z.string().nullable(),
  /** Segments the body is billed as (a string, as Twilio sends it). */
  numSegments: z.string().nullable(),
  /** Media files attached (a string, as Twilio sends it). */
  numMedia: z.string().nullable(),
  price: z.string().nullable(),
  priceUnit: z.string().nullable(),
  /** Twilio's error code when the message failed; `null` otherwise. */
  errorCode: z.int().nullable(),
  errorMessage: z.string().nullable(),
  dateCreated: isoDate,
  dateUpdated: isoDate,
  dateSent: isoDate,
  apiVersion: z.string().nullable(),
  /** The resource's path, relative to `https://api.twilio.com`. */
  uri: z.string().nullable(),
  subresourceUris: z.record(z.string(), z.string()).nullable(),
});

/** The output of `sendSms`. */
export type MessageOutput = z.output<typeof messageOutputSchema>;

function isoOrNull(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'string') {
    const at = Date.parse(value);
    return Number.isNaN(at) ? null : new Date(at).toISOString();
  }
  return null;
}

/** The SDK's `MessageInstance` as the operation's output (see {@link messageOutputSchema}). */
export function toMessageOutput(message: MessageInstance): MessageOutput {
  return {
    sid: message.sid,
    accountSid: message.accountSid ?? null,
    status: message.status,
    to: message.to ?? null,
    from: message.from ?? null,
    body: message.body ?? null,
    messagingServiceSid: message.messagingServiceSid ?? null,
    direction: message.direction ?? null,
    numSegments: message.numSegments ?? null,
    numMedia: message.numMedia ?? null,
    price: message.price ?? null,
    priceUnit: message.priceUnit ?? null,
    errorCode: message.errorCode ?? null,
    errorMessage: message.errorMessage ?? null,
    dateCreated: isoOrNull(message.dateCreated),
    dateUpdated: isoOrNull(message.dateUpdated),
    dateSent: isoOrNull(message.dateSent),
    apiVersion: message.apiVersion ?? null,
    uri: message.uri ?? null,
    subresourceUris: (message.subresourceUris as Record<string, string> | null | undefined) ?? null,
  };
}

/**
 * Twilio as a vendor of the kit. The secret is `{"accountSid": "AC...", "authToken": "..."}`: a
 * missing field, or an `accountSid` that is no Account SID, is `CONFIGURATION_ERROR` naming the
 * field, never its value. The client is the Messages resource ({@link createTwilioMessages}) over a
 * {@link PolicyRequestClient}; errors are mapped by {@link mapTwilioError}, with the `Retry-After` of
 * Twilio's last answer (the SDK's exceptions drop headers). A rotated Auth Token is picked up: after
 * a 401 the secret is read again, once.
 */
export const twilioVendor = defineVendor({
  name: 'Twilio',
  secret: z.object({
    accountSid: z
      .string()
      .min(1)
      .regex(ACCOUNT_SID, "must be a Twilio Account SID ('AC' and 32 hexadecimal digits)"),
    authToken: z.string().min(1),
  }),
  client: (credentials: TwilioCredentials, tools: VendorClientTools<TwilioConnectorConfig>) =>
    createTwilioMessages(
      credentials,
      new PolicyRequestClient(tools.fetch, tools.config.baseUrl, tools.registerSecret),
    ),
  mapError: (error, observed) =>
    mapTwilioError(error, observed.headers === undefined ? undefined : { headers: observed.headers }),
});

/** The `twilio` connector kind: operation `sendSms`. */
export const twilioConnector = defineConnector<TwilioConnectorConfig>({
  kind: 'twilio',
  operations: () => ({
    sendSms: defineOperation({
      description:
        'Sends an SMS, MMS or channel message with Twilio (CreateMessage) and returns the Message resource.',
      input: sendSmsInputSchema,
      output: messageOutputSchema,
      /**
       * @throws ConnectorError `CONFIGURATION_ERROR` (secret missing or malformed), the codes of
       *   {@link mapTwilioError}, and the policies' `API_TIMEOUT`, `CIRCUIT_BREAKER_OPEN`,
       *   `RATE_LIMIT_EXCEEDED`, `UPSTREAM_ERROR`
       */
      run: (input, context) =>
        twilioVendor.call(context, async (messages) => toMessageOutput(await messages.create({ ...input }))),
    }),
  }),
});
