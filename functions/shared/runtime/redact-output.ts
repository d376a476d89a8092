/**
 * The success `data` of an operation, with the connector's own credentials taken out: a caller never
 * receives them, even when the vendor echoes them (httpbin's `/anything` echoes the `Authorization`
 * header, the query string and the body). Applied once, before the data is returned, stored in an
 * idempotency record or published in a result event.
 */
import { ConnectorError } from '../errors.js';
import type { Redactor } from '../redaction.js';

/**
 * The deepest an operation's output may nest objects and arrays. `JSON.stringify` recurses, and
 * overflows Node's stack at a few thousand levels: deeper output could be neither returned, stored
 * nor published. No vendor answer the suite knows comes near it.
 */
export const MAX_OUTPUT_DEPTH = 512;

/**
 * A copy of `data` in which every string (object keys included) has each value the credential store
 * handed out, and each value derived from one (a Basic credential, an OAuth2 token), replaced by
 * `[REDACTED]` (see {@link Redactor.redactString}). Only registered values go: a field merely named
 * like a credential (a vendor's own `set-cookie`, a `token` field of the vendor's answer) is kept.
 *
 * Walks the data without recursion, so a deeply nested answer cannot overflow the stack here.
 * Values are read as `JSON.stringify` reads them (`toJSON` is honoured), since the data is sent as
 * JSON anyway.
 *
 * @param maxDepth - the deepest nesting accepted (`{}` is 1) @default {@link MAX_OUTPUT_DEPTH}
 * @throws ConnectorError `RESPONSE_VALIDATION_ERROR` (502) for output nested deeper than `maxDepth`:
 *   the vendor's answer cannot be sent as JSON, and must not become a 500
 */
export function redactOutput(data: unknown, target: Redactor, maxDepth = MAX_OUTPUT_DEPTH): unknown {
  const redactValue = (value: unknown): unknown => {
    const json = toJsonValue(value);
    return typeof json === 'string' ? target.redactString(json) : json;
  };
  const root = redactValue(data);
  if (!isContainer(root)) return root;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(root) ? [] : {};
  type Container = Record<string, unknown> | unknown[];
  const pending: Array<[source: Container, into: Container, depth: number]> = [[root, copy, 1]];
  while (pending.length > 0) {
    const [source, into, depth] = pending.pop() as [Record<string, unknown>, Record<string, unknown>, number];
    if (depth > maxDepth) {
      throw new ConnectorError(
        'RESPONSE_VALIDATION_ERROR',
        `The upstream answer nests objects and arrays deeper than ${maxDepth} levels; it cannot be returned.`,
      );
    }
    const arrayCopy = Array.isArray(into);
    for (const [key, raw] of Object.entries(source)) {
      const value = redactValue(raw);
      let out: unknown = value;
      if (isContainer(value)) {
        out = Array.isArray(value) ? [] : {};
        pending.push([value, out as Record<string, unknown>, depth + 1]);
      }
      if (arrayCopy) into[key] = out;
      // defineProperty, not assignment: a `__proto__` key stays a plain key.
      else
        Object.defineProperty(into, target.redactString(key), {
          value: out,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
  }
  return copy;
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

function toJsonValue(value: unknown): unknown {
  // JSON has no negative zero: `JSON.stringify(-0)` is `0`.
  if (value === 0) return 0;
  if (isContainer(value) && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}
