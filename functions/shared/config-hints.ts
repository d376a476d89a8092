/**
 * Hints for config errors: the keys a zod schema accepts at a path, and the closest of them to an
 * unknown key ("did you mean `timeoutMs`?"). Reads zod 4's schema definitions (`_zod.def`) only.
 */

/** A zod 4 schema's definition, as far as these hints read it. */
interface SchemaDef {
  type: string;
  shape?: Record<string, unknown>;
  options?: unknown[];
  innerType?: unknown;
  element?: unknown;
  in?: unknown;
  out?: unknown;
  left?: unknown;
  right?: unknown;
  valueType?: unknown;
}

/** Wrappers whose `innerType` is what the value is parsed against. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

function defOf(schema: unknown): SchemaDef | undefined {
  const def = (schema as { _zod?: { def?: SchemaDef } } | null | undefined)?._zod?.def;
  return typeof def?.type === 'string' ? def : undefined;
}

/** The schemas a value may be parsed against, wrappers, unions and pipes opened. */
function alternatives(schema: unknown, depth = 0): unknown[] {
  const def = defOf(schema);
  if (def === undefined || depth > 20) return [];
  if (WRAPPERS.has(def.type)) return alternatives(def.innerType, depth + 1);
  if (def.type === 'union') return (def.options ?? []).flatMap((o) => alternatives(o, depth + 1));
  if (def.type === 'pipe') return [...alternatives(def.in, depth + 1), ...alternatives(def.out, depth + 1)];
  if (def.type === 'intersection') {
    return [...alternatives(def.left, depth + 1), ...alternatives(def.right, depth + 1)];
  }
  return [schema];
}

/**
 * Whether an object schema may be the one `value` was parsed against: each of its literal fields
 * (a discriminator such as `kind: 'http'` or `type: 'bearer'`) that `value` sets holds one of the
 * literal's values.
 */
function fits(schema: unknown, value: unknown): boolean {
  const def = defOf(schema);
  if (def?.type !== 'object' || !def.shape || value === null || typeof value !== 'object') return true;
  return Object.entries(def.shape).every(([key, field]) => {
    const fieldDef = defOf(field) as (SchemaDef & { values?: unknown[] }) | undefined;
    if (fieldDef?.type !== 'literal' || !Object.hasOwn(value, key)) return true;
    return (fieldDef.values ?? []).includes((value as Record<string, unknown>)[key]);
  });
}

/**
 * The keys the objects of `schema` accept at `path` (every branch of a union that fits `input`),
 * e.g. the fields of an `http` connector entry at `['connectors', 0]`; empty when the path leads to
 * no object.
 * @param input - the parsed value, to pick the union branches by their discriminators; @default none: every branch
 */
export function knownKeysAt(schema: unknown, path: readonly PropertyKey[], input?: unknown): string[] {
  let current = alternatives(schema).filter((s) => fits(s, input));
  let value = input;
  for (const segment of path) {
    value = valueAt(value, [segment]);
    const here = value;
    current = current.flatMap((s) => {
      const def = defOf(s);
      if (def === undefined) return [];
      if (
        def.type === 'object' &&
        typeof segment === 'string' &&
        def.shape &&
        Object.hasOwn(def.shape, segment)
      ) {
        return alternatives(def.shape[segment]);
      }
      if (def.type === 'array' && typeof segment === 'number') return alternatives(def.element);
      if (def.type === 'record') return alternatives(def.valueType);
      return [];
    });
    current = current.filter((s) => fits(s, here));
  }
  const keys = current.flatMap((s) => {
    const def = defOf(s);
    return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
  });
  return [...new Set(keys)];
}

/** The value of `input` at `path`, or `undefined` when the path leads nowhere. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/**
 * The edit distance between `a` and `b`, case-insensitively: insertions, deletions, substitutions
 * and swaps of two neighbouring letters (optimal string alignment), each counting 1.
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      let distance = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        distance = Math.min(distance, (beforePrevious[j - 2] ?? 0) + 1);
      }
      row[j] = distance;
    }
    beforePrevious = previous;
    previous = row;
  }
  return previous[y.length] ?? 0;
}

/**
 * The known key closest to `key`, when it is close enough to be a typo: at most a third of the
 * longer name's letters apart (at least 1, so `timeout` → `timeoutMs` is not offered but `timoutMs`
 * is), or the same name in another case.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    // A key the schema accepts elsewhere (another kind's field) is no typo of itself.
    if (candidate === key) continue;
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const bound = Math.max(1, Math.floor(Math.max(key.length, best.length) / 3));
  return bestDistance <= bound ? best : undefined;
}

/**
 * What to append to an unknown-key message: ` (did you mean \`timeoutMs\`?)` for one key,
 * ` (did you mean \`timeoutMs\` for "timeoutMS", \`retry\` for "retries"?)` for several; empty when
 * no key is close.
 */
export function unknownKeyHints(keys: readonly string[], known: readonly string[]): string {
  const hints = keys.flatMap((key) => {
    const match = closestKey(key, known);
    return match === undefined ? [] : [{ key, match }];
  });
  if (hints.length === 0) return '';
  if (keys.length === 1 && hints[0]) return ` (did you mean \`${hints[0].match}\`?)`;
  return ` (did you mean ${hints.map((h) => `\`${h.match}\` for "${h.key}"`).join(', ')}?)`;
}
