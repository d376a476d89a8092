/**
 * The `hmac` auth scheme (docs/auth.md): an HMAC signature header over a canonical string of the
 * request, built from a template (see `hmac-template.ts`), with a timestamp header and optional
 * key-id and nonce headers. Signed again on every attempt and redirect hop (the timestamp changes).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { AuthConfig } from '../config.js';
import { secretField } from '../credentials/store.js';
import { ConnectorError, configurationError } from '../errors.js';
import type { Redactor } from '../redaction.js';
import {
  bodyAfterUrlProblem,
  type ParsedTemplate,
  type Placeholder,
  parseHmacTemplate,
} from './hmac-template.js';
import type { AuthDependencies, AuthorizableRequest, AuthorizeOptions, AuthScheme } from './types.js';

type HmacConfig = Extract<AuthConfig, { type: 'hmac' }>;

/** The parts of a request a canonical string is made of. */
export interface CanonicalParts {
  /** Upper-case HTTP method. */
  method: string;
  url: URL;
  /** The body as sent (UTF-8); `''` when there is none. */
  body: string;
  /** The timestamp, already formatted. */
  timestamp: string;
  /** @default '' */
  nonce?: string;
  /** @default '' */
  keyId?: string;
}

/**
 * A timestamp in one of the scheme's formats: `unixSeconds` (e.g. `1764643817`), `unixMs`
 * (`1764643817123`) or `iso8601` (`2026-12-02T02:50:17.123Z`, always UTC with milliseconds).
 */
export function formatTimestamp(format: HmacConfig['timestampFormat'], epochMs: number): string {
  switch (format) {
    case 'unixSeconds':
      return String(Math.floor(epochMs / 1000));
    case 'unixMs':
      return String(Math.floor(epochMs));
    case 'iso8601':
      return new Date(epochMs).toISOString();
  }
}

function digest(algorithm: 'sha256' | 'sha512', encoding: 'hex' | 'base64', body: string): string {
  return createHash(algorithm).update(body, 'utf8').digest(encoding);
}

function placeholderValue(name: Placeholder, parts: CanonicalParts): string {
  const { url } = parts;
  switch (name) {
    case 'timestamp':
      return parts.timestamp;
    case 'method':
      return parts.method;
    case 'nonce':
      return parts.nonce ?? '';
    case 'keyId':
      return parts.keyId ?? '';
    case 'path':
      return url.pathname;
    case 'query':
      return url.search.slice(1);
    case 'pathWithQuery':
      return `${url.pathname}${url.search}`;
    case 'host':
      return url.host;
    case 'body':
      return parts.body;
    case 'bodySha256Hex':
      return digest('sha256', 'hex', parts.body);
    case 'bodySha256Base64':
      return digest('sha256', 'base64', parts.body);
    case 'bodySha512Hex':
      return digest('sha512', 'hex', parts.body);
    case 'bodySha512Base64':
      return digest('sha512', 'base64', parts.body);
  }
}

/**
 * The canonical string of a request under a parsed template.
 * @throws ConnectorError `VALIDATION_ERROR` when `{body}` follows a URL placeholder and the request
 *   breaks the rule of `bodyAfterUrlProblem` (the body is not a JSON object or array)
 */
export function canonicalString(template: ParsedTemplate, parts: CanonicalParts): string {
  let out = '';
  let previous: string | undefined;
  for (const token of template.tokens) {
    if ('literal' in token) {
      out += token.literal;
      previous = undefined;
      continue;
    }
    const value = placeholderValue(token.placeholder, parts);
    if (token.placeholder === 'body' && template.bodyFollowsUrl && previous !== undefined) {
      const problem = bodyAfterUrlProblem(previous, value);
      if (problem) {
        throw new ConnectorError('VALIDATION_ERROR', `This request cannot be signed: ${problem}.`, {
          details: [{ path: 'body', message: problem }],
        });
      }
    }
    previous = value;
    out += value;
  }
  return out;
}

/** The signing key's bytes, decoded from the secret as `secretEncoding` says (`base64` drops a `whsec_` prefix). */
function signingKey(value: string, encoding: HmacConfig['secretEncoding'], secretName: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(value, 'utf8');
  const text = encoding === 'base64' ? value.replace(/^whsec_/, '') : value;
  const valid =
    encoding === 'base64' ? /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) : /^(?:[0-9a-fA-F]{2})+$/.test(text);
  if (!valid) {
    throw configurationError(`Secret '${secretName}': field 'signingSecret' is not ${encoding}.`);
  }
  return Buffer.from(text, encoding);
}

/** The `hmac` auth scheme. */
export class HmacScheme implements AuthScheme {
  readonly #config: HmacConfig;
  readonly #deps: AuthDependencies & { redactor: Redactor };
  readonly #template: ParsedTemplate;
  readonly #now: () => number;

  /**
   * @param now - the clock, epoch ms; @default Date.now
   * @throws ConnectorError `CONFIGURATION_ERROR` for a template the config schema would refuse
   */
  constructor(
    config: HmacConfig,
    deps: AuthDependencies & { redactor: Redactor },
    now: () => number = Date.now,
  ) {
    this.#config = config;
    this.#deps = deps;
    this.#now = now;
    const parsed = parseHmacTemplate(config.canonical);
    if ('problems' in parsed) throw configurationError(`auth.canonical ${parsed.problems.join('; ')}`);
    this.#template = parsed;
    // A signature is good for one request within the vendor's tolerance: redacted by its header's name.
    deps.redactor.addSensitiveName(config.signatureHeader);
  }

  /** @inheritdoc */
  async authorize(request: AuthorizableRequest, options: AuthorizeOptions = {}): Promise<void> {
    const config = this.#config;
    const secret = await this.#deps.credentials.getSecret(config.secret, {
      forceRefresh: options.forceRefresh ?? false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const signingSecret = secretField(secret, config.secret, 'signingSecret');
    this.#deps.redactor.addSecret(signingSecret);
    const keyId =
      config.keyIdHeader || this.#template.uses.has('keyId')
        ? secretField(secret, config.secret, 'keyId')
        : undefined;
    const nonce = this.#template.uses.has('nonce') ? randomUUID() : undefined;
    const timestamp = formatTimestamp(config.timestampFormat, this.#now());
    const canonical = canonicalString(this.#template, {
      method: (request.method ?? 'GET').toUpperCase(),
      url: request.url,
      body: request.body ?? '',
      timestamp,
      ...(nonce === undefined ? {} : { nonce }),
      ...(keyId === undefined ? {} : { keyId }),
    });
    const signature = createHmac(
      config.algorithm,
      signingKey(signingSecret, config.secretEncoding, config.secret),
    )
      .update(canonical, 'utf8')
      .digest(config.encoding);
    const { headers } = request;
    headers.set(config.timestampHeader, timestamp);
    if (config.keyIdHeader && keyId !== undefined) headers.set(config.keyIdHeader, keyId);
    if (config.nonceHeader && nonce !== undefined) headers.set(config.nonceHeader, nonce);
    headers.set(config.signatureHeader, `${config.signaturePrefix}${signature}`);
  }
}
