/**
 * Redaction: the one place that keeps credentials out of logs, traces and error bodies.
 *
 * The credential stores register every value they hand out, and the auth schemes register the
 * values they derive (a Basic credential, an OAuth2 access token) and the header or query parameter
 * they use. Everything the runtime logs goes through the Logger's JSON replacer
 * ({@link Redactor.jsonReplacer}), so a registered value is replaced even inside an upstream body
 * that echoes it.
 */

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/** Headers that always carry credentials or sessions. */
export const SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
];

/**
 * Values shorter than this are not registered: replacing every 1–3 character sequence would
 * destroy the logs, and a credential that short offers no secrecy anyway.
 */
export const MIN_SECRET_LENGTH = 4;

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Keeps the registered secret values and sensitive names and replaces them wherever they appear. */
export class Redactor {
  readonly #secrets = new Set<string>();
  readonly #names = new Set<string>(SENSITIVE_HEADERS);
  #pattern: RegExp | undefined;

  /**
   * Registers a secret value, with the forms it takes once URL-encoded or JSON-escaped.
   * Values shorter than {@link MIN_SECRET_LENGTH} are ignored.
   */
  addSecret(value: string): void {
    if (value.length < MIN_SECRET_LENGTH) return;
    const forms = [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)];
    for (const form of forms) {
      if (!this.#secrets.has(form)) {
        this.#secrets.add(form);
        this.#pattern = undefined;
      }
    }
  }

  /** Registers every string value of a secret object (`{"token": "..."}`). */
  addSecretValues(secret: Readonly<Record<string, unknown>>): void {
    for (const value of Object.values(secret)) if (typeof value === 'string') this.addSecret(value);
  }

  /** Registers a header or query parameter name whose values are always redacted (case-insensitive). */
  addSensitiveName(name: string): void {
    this.#names.add(name.toLowerCase());
  }

  /** Whether values under this header, query parameter or JSON key name are always redacted. */
  isSensitiveName(name: string): boolean {
    return this.#names.has(name.toLowerCase());
  }

  /** `text` with every registered secret value replaced by {@link REDACTED}. */
  redactString(text: string): string {
    if (this.#secrets.size === 0) return text;
    if (!this.#pattern) {
      const alternatives = [...this.#secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.#pattern = new RegExp(alternatives.join('|'), 'g');
    }
    return text.replace(this.#pattern, REDACTED);
  }

  /**
   * A copy of `value` safe to log: sensitive keys are replaced whole, strings have secrets replaced;
   * nested objects and arrays are walked.
   */
  redact<T>(value: T): T {
    return JSON.parse(JSON.stringify(value, this.jsonReplacer) ?? 'null') as T;
  }

  /** Headers safe to log: sensitive ones replaced whole, the rest with secrets replaced. */
  redactHeaders(headers: Headers | Readonly<Record<string, string>>): Record<string, string> {
    const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
    return Object.fromEntries(
      entries.map(([name, value]) => [
        name,
        this.isSensitiveName(name) ? REDACTED : this.redactString(value),
      ]),
    );
  }

  /**
   * The path and query of a URL for a log line: query values are dropped (`/items?cursor=&limit=`),
   * since they often carry identifiers or keys.
   */
  loggablePath(url: URL): string {
    const keys = [...new Set(url.searchParams.keys())];
    const query = keys.length ? `?${keys.map((k) => `${encodeURIComponent(k)}=`).join('&')}` : '';
    return this.redactString(url.pathname) + query;
  }

  /**
   * A `JSON.stringify` replacer that redacts: values under sensitive keys become {@link REDACTED},
   * strings have registered secrets replaced. Powertools Logger runs it on every log line.
   */
  readonly jsonReplacer = (key: string, value: unknown): unknown => {
    if (key && this.isSensitiveName(key) && value !== undefined && value !== null) return REDACTED;
    if (typeof value === 'string') return this.redactString(value);
    return value;
  };
}

/**
 * The process-wide redactor: every credential store, auth scheme and logger of the process shares it,
 * so a secret handed out for one connector is redacted from every other's logs too.
 */
export const redactor = new Redactor();

/**
 * A short, redacted excerpt of an upstream body for an error body or a log line.
 * @param maxChars - longest excerpt; @default 512
 */
export function bodyExcerpt(body: string, target: Redactor = redactor, maxChars = 512): string {
  const redacted = target.redactString(body);
  return redacted.length > maxChars ? `${redacted.slice(0, maxChars)}…` : redacted;
}
