/**
 * Redaction: the one place that keeps credentials out of logs, traces and error bodies.
 *
 * The credential stores register the secret fields of every value they hand out (never identifiers
 * such as a user name: {@link isSecretField}), and the auth schemes register what they send, the
 * values they derive (a Basic credential, an OAuth2 access token) and the header or query parameter
 * they use. Everything the runtime logs goes through the Logger's JSON replacer
 * ({@link Redactor.jsonReplacer}), so a registered value is replaced even inside an upstream body
 * that echoes it, in any of the encoded forms {@link Redactor.addSecret} lists.
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
 * Values shorter than this are not registered: a credential that short offers no secrecy, and
 * replacing every occurrence of a short value (a one-letter user name) would mangle logs and data
 * (`/users/42` must not become `/[REDACTED]s/42`).
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * The secret fields: a field of a secret value whose name ends, in any case, in `secret`, `token`,
 * `password`, `passphrase` or `key` holds a secret. That covers every field the auth schemes and vendor
 * connectors send as a credential (`apiKey`, `token`, `password`, `clientSecret`, Twilio's
 * `authToken`) and the usual names of others (`accessToken`, `privateKey`, `webhookSecret`), and
 * leaves out identifiers that are no secret (`username`, `clientId`, Twilio's `accountSid`).
 */
export const SECRET_FIELD_PATTERN = /(?:secret|token|password|passphrase|key)$/i;

/** Whether the field `name` of a secret value holds a secret (see {@link SECRET_FIELD_PATTERN}). */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD_PATTERN.test(name);
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A hexadecimal digit matched in either case (`%2f` and `%2F`, `\u003c` and `\u003C`). */
function hexDigit(digit: string): string {
  return /[a-f]/i.test(digit) ? `[${digit.toLowerCase()}${digit.toUpperCase()}]` : digit;
}

function hexPattern(code: number, width: number): string {
  return [...code.toString(16).padStart(width, '0')].map(hexDigit).join('');
}

/** JSON's two-character escapes (RFC 8259 §7), `\/` included: PHP and others escape the slash. */
const JSON_SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** HTML's named character references for the characters an HTML error page escapes. */
const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * A pattern for one character of a secret in every form it takes in text: itself; percent-encoded
 * UTF-8 with upper- or lower-case hex (`encodeURIComponent`, `application/x-www-form-urlencoded`);
 * `+` for a space (form encoding, WHATWG URL §5.2); a JSON `\uXXXX` escape in either case (`\u0026`)
 * and JSON's short escapes (`\"`, `\\`, `\/`); the HTML character reference of `&<>"'` (an HTML
 * error page quoting a URL). Letters and digits are never escaped by encoders.
 */
function characterPattern(char: string): string {
  if (/^[A-Za-z0-9]$/.test(char)) return char;
  const forms = [[...Buffer.from(char, 'utf8')].map((byte) => `%${hexPattern(byte, 2)}`).join('')];
  if (char === ' ') forms.push('\\+');
  const short = JSON_SHORT_ESCAPES[char];
  if (short) forms.push(escapeRegExp(short));
  let unicodeEscape = '';
  for (let i = 0; i < char.length; i += 1) unicodeEscape += `\\\\u${hexPattern(char.charCodeAt(i), 4)}`;
  forms.push(unicodeEscape);
  const entity = HTML_ENTITIES[char];
  if (entity) forms.push(entity, `&#${char.charCodeAt(0)};`, `&#[xX]0*${hexPattern(char.charCodeAt(0), 2)};`);
  // The character itself last: `\\` is one escaped backslash, not a backslash and a leftover one.
  forms.push(escapeRegExp(char));
  return `(?:${forms.join('|')})`;
}

/** The characters that start an encoded form of a character: `%XX`, `+`, `\\…`, `&…;`. */
const ESCAPE_INTRODUCER = /[%+\\&]/;

/** A pattern matching `secret` in any of the encoded forms of {@link characterPattern}, mixed. */
function secretPattern(secret: string): string {
  return [...secret].map(characterPattern).join('');
}

/** Keeps the registered secret values and sensitive names and replaces them wherever they appear. */
export class Redactor {
  readonly #secrets = new Set<string>();
  readonly #names = new Set<string>(SENSITIVE_HEADERS);
  #pattern: RegExp | undefined;
  /** The secrets as they are, for texts that hold no encoded form ({@link ESCAPE_INTRODUCER}). */
  #rawPattern: RegExp | undefined;

  /**
   * Registers a secret value. It is then found in every form it can take in a log line, a body or a
   * header: raw, percent-encoded (`encodeURIComponent`, form-encoded with `+` for a space, hex in
   * either case) and JSON-escaped (`\u0026`, `\/`, `\"`, `\\`), and any mix of them.
   * Values shorter than {@link MIN_SECRET_LENGTH} are ignored: they are no secret worth the name, and
   * redacting them would mangle unrelated text.
   */
  addSecret(value: string): void {
    if (value.length < MIN_SECRET_LENGTH || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    this.#pattern = undefined;
    this.#rawPattern = undefined;
  }

  /**
   * Registers the secret fields of a secret value (`{"username": "...", "password": "..."}`
   * registers the password only): the string fields {@link isSecretField} names. Identifiers such as
   * a user name or a client id are no secret and stay readable.
   */
  addSecretValues(secret: Readonly<Record<string, unknown>>): void {
    for (const [name, value] of Object.entries(secret)) {
      if (typeof value === 'string' && isSecretField(name)) this.addSecret(value);
    }
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
    if (!this.#pattern || !this.#rawPattern) {
      // Longest first, so that a secret containing another is replaced whole.
      const secrets = [...this.#secrets].sort((a, b) => b.length - a.length);
      this.#pattern = new RegExp(secrets.map(secretPattern).join('|'), 'g');
      this.#rawPattern = new RegExp(secrets.map(escapeRegExp).join('|'), 'g');
    }
    // Fast path, the common case: every encoded form starts with `%`, `\`, `&` or `+` (for a
    // space); a text with none of them can only hold a secret raw, which `includes` finds far faster
    // than the pattern of every form.
    if (!ESCAPE_INTRODUCER.test(text)) {
      for (const secret of this.#secrets) {
        if (text.includes(secret)) return text.replace(this.#rawPattern, REDACTED);
      }
      return text;
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
