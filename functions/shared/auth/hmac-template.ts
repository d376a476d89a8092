/**
 * The canonical-string template of the `hmac` auth scheme (docs/auth.md): literal text and
 * placeholders such as `"{timestamp}\n{method}\n{pathWithQuery}\n{bodySha256Hex}"`. Pure, with no
 * imports, so that the config schema validates templates with exactly the rules the scheme signs by.
 *
 * The rules keep the string unambiguous: read from the left, every part of the request ends where
 * the string says, so two requests that differ in a part the template signs never share a
 * canonical string (a caller cannot move bytes from the body into the path, or from the path into
 * the query, and get a signature that also fits another request):
 * - a placeholder of fixed shape (`{timestamp}`, `{method}`, the digests, `{nonce}`, `{keyId}`) may
 *   be followed by anything: its value has a fixed length, a prefix-free set of values (the
 *   methods) or is the same for every request (the key id);
 * - a URL placeholder (`{path}`, `{query}`, `{pathWithQuery}`, `{host}`) must be followed by a
 *   separator that a URL never holds raw ({@link URL_SEPARATORS}: the WHATWG URL serializer
 *   percent-encodes them in paths and queries), by the end of the template, by `{body}` (with the
 *   rule of {@link bodyAfterUrlProblem}, checked per request) or, for `{host}`, by `{path}` or
 *   `{pathWithQuery}` (a host holds no `/`, a path starts with one);
 * - the raw `{body}`, whose bytes the caller chooses, must come last.
 */

/** Placeholders whose value has a fixed shape, or is the same for every request of a key. */
export const FIXED_PLACEHOLDERS = [
  'timestamp',
  'method',
  'nonce',
  'keyId',
  'bodySha256Hex',
  'bodySha256Base64',
  'bodySha512Hex',
  'bodySha512Base64',
] as const;

/** Placeholders of the request's URL, of variable length. */
export const URL_PLACEHOLDERS = ['path', 'query', 'pathWithQuery', 'host'] as const;

/** One of the template's placeholders. */
export type Placeholder = (typeof FIXED_PLACEHOLDERS)[number] | (typeof URL_PLACEHOLDERS)[number] | 'body';

/** Every placeholder a template may use. */
export const PLACEHOLDERS: readonly Placeholder[] = [...FIXED_PLACEHOLDERS, ...URL_PLACEHOLDERS, 'body'];

/** Placeholders that sign the body: the raw bytes or a digest of them. */
export const BODY_PLACEHOLDERS: readonly Placeholder[] = [
  'body',
  'bodySha256Hex',
  'bodySha256Base64',
  'bodySha512Hex',
  'bodySha512Base64',
];

/**
 * Characters that may end a URL placeholder: a WHATWG URL never holds them raw in its host, path or
 * query (C0 controls, space, `"`, `#`, `<` and `>` are in both the path and the query
 * percent-encode sets of the URL Standard §1.3).
 */
export const URL_SEPARATORS = '\n\t "#<>';

/**
 * Characters a body must begin with when it directly follows a URL placeholder, and which the URL
 * may then not hold raw: a JSON object or array (see {@link bodyAfterUrlProblem}).
 */
export const BODY_START_CHARACTERS = '{[';

/** The default template: timestamp, method, path with query and body digest, one a line. */
export const DEFAULT_HMAC_TEMPLATE = '{timestamp}\n{method}\n{pathWithQuery}\n{bodySha256Hex}';

/** One token of a parsed template. */
export type TemplateToken = { literal: string } | { placeholder: Placeholder };

/** A parsed template: its tokens, and whether `{body}` directly follows a URL placeholder. */
export interface ParsedTemplate {
  tokens: readonly TemplateToken[];
  /** `{body}` comes right after a URL placeholder: each request's body is checked (see {@link bodyAfterUrlProblem}). */
  bodyFollowsUrl: boolean;
  /** The placeholders used. */
  uses: ReadonlySet<Placeholder>;
}

const LITERAL = /^[\t\n\x20-\x7a|~]*$/;

function isUrlPlaceholder(name: Placeholder): boolean {
  return (URL_PLACEHOLDERS as readonly string[]).includes(name);
}

/**
 * Parses a template and checks the rules of this module's header.
 * @returns the parsed template, or the problems found (one sentence each, naming the placeholder)
 */
export function parseHmacTemplate(template: string): ParsedTemplate | { problems: string[] } {
  const problems: string[] = [];
  const tokens: TemplateToken[] = [];
  const uses = new Set<Placeholder>();
  const pattern = /\{([^{}]*)\}|([^{}]+)|([{}])/g;
  for (const match of template.matchAll(pattern)) {
    const [, name, literal, stray] = match;
    if (stray !== undefined) {
      problems.push(
        `has an unmatched '${stray}': placeholders are written {name}, and literal braces are not allowed`,
      );
    } else if (literal !== undefined) {
      if (!LITERAL.test(literal)) {
        problems.push('may hold only printable ASCII, tabs and newlines between placeholders');
      }
      tokens.push({ literal });
    } else if (name !== undefined) {
      if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
        problems.push(
          `has an unknown placeholder {${name}}; use one of ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
        );
        continue;
      }
      const placeholder = name as Placeholder;
      if (uses.has(placeholder)) problems.push(`uses {${placeholder}} twice`);
      uses.add(placeholder);
      tokens.push({ placeholder });
    }
  }
  if (!uses.has('timestamp')) {
    problems.push('must include {timestamp}, so that a signature cannot be replayed later');
  }
  if (!BODY_PLACEHOLDERS.some((p) => uses.has(p))) {
    problems.push(
      'must sign the body: include {body} (last) or a digest such as {bodySha256Hex}, so that the body cannot be changed',
    );
  }
  let bodyFollowsUrl = false;
  tokens.forEach((token, i) => {
    if (!('placeholder' in token)) return;
    const next = tokens[i + 1];
    if (token.placeholder === 'body') {
      if (next !== undefined) {
        problems.push(
          'must end with {body}: nothing may follow the raw body, whose bytes the caller chooses',
        );
      }
      return;
    }
    if (!isUrlPlaceholder(token.placeholder) || next === undefined) return;
    if ('literal' in next) {
      if (URL_SEPARATORS.includes(next.literal.charAt(0))) return;
    } else if (next.placeholder === 'body') {
      bodyFollowsUrl = true;
      return;
    } else if (
      token.placeholder === 'host' &&
      (next.placeholder === 'path' || next.placeholder === 'pathWithQuery')
    ) {
      return;
    }
    problems.push(
      `must follow {${token.placeholder}} with a newline, a tab, a space or one of " # < > (which a URL never holds raw), or with {body} at the end`,
    );
  });
  return problems.length > 0 ? { problems } : { tokens, bodyFollowsUrl, uses };
}

/**
 * Why a request cannot be signed when `{body}` directly follows a URL placeholder (Coinbase's
 * `{timestamp}{method}{pathWithQuery}{body}`), or `undefined`: a non-empty body must begin with
 * `{` or `[` (a JSON object or array) and the URL value may not hold either raw. Then the URL ends
 * at the first of them, and no two requests share a canonical string.
 */
export function bodyAfterUrlProblem(urlValue: string, body: string): string | undefined {
  if (body !== '' && !BODY_START_CHARACTERS.includes(body.charAt(0))) {
    return 'the body must be a JSON object or array: this connector signs the body right after the URL';
  }
  if ([...BODY_START_CHARACTERS].some((c) => urlValue.includes(c))) {
    return 'the URL must not hold a raw { or [: this connector signs the body right after the URL';
  }
  return undefined;
}
