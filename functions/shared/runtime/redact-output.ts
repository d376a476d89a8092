/**
 * The success `data` of an operation, with the connector's own credentials taken out: a caller never
 * receives them, even when the vendor echoes them (httpbin's `/anything` echoes the `Authorization`
 * header, the query string and the body). Applied once, before the data is returned, stored in an
 * idempotency record or published in a result event.
 */
import type { Redactor } from '../redaction.js';

/**
 * A copy of `data` in which every string (object keys included) has each value the credential store
 * handed out, and each value derived from one (a Basic credential, an OAuth2 token), replaced by
 * `[REDACTED]` (see {@link Redactor.redactString}). Only registered values go: a field merely named
 * like a credential (a vendor's own `set-cookie`, a `token` field of the vendor's answer) is kept.
 *
 * Walks the data without recursion, so a deeply nested answer cannot overflow the stack here.
 * Values are read as `JSON.stringify` reads them (`toJSON` is honoured), since the data is sent as
 * JSON anyway.
 */
export function redactOutput(data: unknown, target: Redactor): unknown {
  const redactValue = (value: unknown): unknown => {
    const json = toJsonValue(value);
    return typeof json === 'string' ? target.redactString(json) : json;
  };
  const root = redactValue(data);
  if (!isContainer(root)) return root;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(root) ? [] : {};
  const pending: Array<[Record<string, unknown> | unknown[], Record<string, unknown> | unknown[]]> = [
    [root, copy],
  ];
  while (pending.length > 0) {
    const [source, into] = pending.pop() as [Record<string, unknown>, Record<string, unknown>];
    const arrayCopy = Array.isArray(into);
    for (const [key, raw] of Object.entries(source)) {
      const value = redactValue(raw);
      let out: unknown = value;
      if (isContainer(value)) {
        out = Array.isArray(value) ? [] : {};
        pending.push([value, out as Record<string, unknown>]);
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
  if (isContainer(value) && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}
