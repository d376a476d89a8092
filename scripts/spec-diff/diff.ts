/**
 * What a new version of an OpenAPI 3.x description removes or changes that an operation depends on:
 * the pure part of `npm run spec:diff` (docs/connectors/openapi.md, "Breaking changes"). Both descriptions are plain JSON values
 * (Swagger 2.0 is converted first, see `./load.ts`); nothing here reads a file or throws on an odd
 * description: what it cannot compare it leaves alone.
 *
 * Rules (the consumer's side, as a client of the vendor's API):
 * - breaking: an operation removed or moved; a path, query, header or cookie parameter removed
 *   (or renamed, which is a removal plus an addition), or that became required, or a new required
 *   one; a request body that became required, a media type removed; in a request, a property
 *   removed or that became required (or a new required one); in a documented 2xx response, a status
 *   or media type removed, a documented header removed or no longer required, a property removed or
 *   no longer required; anywhere, a type changed (a
 *   request type may widen, a response type narrow), an enum value removed, a variant of
 *   `oneOf`/`anyOf` removed. Changes inside a `$ref`'d schema are found by following the `$ref`s
 *   (local ones, `#/…`), each pair of schemas once per operation, which also stops cycles.
 * - notable (listed, exit code 0): what would break in a 2xx response, found in an error response
 *   (4xx, 5xx, `default`): the connector maps those to its own errors.
 * - not breaking (listed by `--verbose`): additions (an operation, an optional parameter or
 *   property, an enum value, a response status, header or property) and the relaxations of the rules
 *   above.
 *
 * @module
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** One difference between the old and the new description, as seen by one operation. */
export interface Finding {
  /** The operation's `operationId` (or `METHOD /path` when it has none). */
  operationId: string;
  /**
   * Where: `METHOD /path`, then `→`-separated parts, e.g.
   * `GET /2010-04-01/Accounts/{AccountSid}/Messages.json → response 200 → body.messages[].sid`.
   */
  location: string;
  /** What changed, e.g. `property removed`, `type changed from string to integer`. */
  change: string;
  /** Whether a client written against the old description may fail against the new one. */
  breaking: boolean;
  /**
   * Not breaking, but worth a look before taking the new version: what would break in a 2xx answer,
   * found in an error answer (4xx, 5xx, `default`), whose body the connector maps to its own error
   * and whose `Retry-After` or rate-limit headers only pace its retries. Listed without `--verbose`;
   * exit code 0.
   */
  notable?: true;
  /** The `$ref`'d schema the change sits in (`#/components/schemas/…`), when there is one. */
  schema?: string;
}

/** The HTTP methods an OpenAPI path item may hold, in the order findings list them. */
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** One operation of a description, found by {@link indexOperations}. */
export interface OperationEntry {
  id: string;
  method: string;
  path: string;
  operation: JsonObject;
  /** The path item's parameters, then the operation's (an operation's replaces a path item's of the same `in` and `name`). */
  parameters: JsonObject[];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves a local JSON pointer (`#/components/schemas/x`); `undefined` for another or a dangling one. */
function pointer(document: JsonObject, ref: string): Json | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: Json | undefined = document;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** Follows `$ref`s (at most 32 in a row) to an object; the last `$ref` followed, if any. */
function deref(document: JsonObject, value: Json | undefined): { node?: JsonObject; ref?: string } {
  let node = value;
  let ref: string | undefined;
  for (let hops = 0; hops < 32 && isObject(node) && typeof node.$ref === 'string'; hops++) {
    ref = node.$ref;
    node = pointer(document, ref);
  }
  return isObject(node) && typeof node.$ref !== 'string' ? { node, ref } : { ref };
}

/** Every operation of `document`, keyed by `operationId` (or `METHOD /path`). */
export function indexOperations(document: JsonObject): Map<string, OperationEntry> {
  const operations = new Map<string, OperationEntry>();
  const paths = isObject(document.paths) ? document.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(document, rawItem).node;
    if (!item) continue;
    const shared = parameterList(document, item.parameters);
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const own = parameterList(document, operation.parameters);
      const ownKeys = new Set(own.map(parameterKey));
      const parameters = [...shared.filter((p) => !ownKeys.has(parameterKey(p))), ...own];
      const id =
        typeof operation.operationId === 'string' ? operation.operationId : `${method.toUpperCase()} ${path}`;
      operations.set(id, { id, method, path, operation, parameters });
    }
  }
  return operations;
}

function parameterList(document: JsonObject, value: Json | undefined): JsonObject[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((p) => {
    const node = deref(document, p).node;
    return node && typeof node.name === 'string' && typeof node.in === 'string' ? [node] : [];
  });
}

function parameterKey(parameter: JsonObject): string {
  const where = String(parameter.in);
  // Header names are case-insensitive (RFC 9110 §5.1).
  return `${where}:${where === 'header' ? String(parameter.name).toLowerCase() : String(parameter.name)}`;
}

/** Whether a status code or range of a response object is a documented success (`200`, `2XX`). */
function isSuccess(status: string): boolean {
  return /^2(\d\d|XX)$/i.test(status);
}

type Direction = 'request' | 'response';

/** The state of one operation's comparison. */
interface Context {
  old: JsonObject;
  new: JsonObject;
  operationId: string;
  findings: Finding[];
  /** Pairs of `$ref`s already compared, per direction: cycle protection and no repeats. */
  seen: Set<string>;
  /** Comparing an error answer: what would break is only notable ({@link Finding.notable}). */
  inError?: boolean;
}

function report(ctx: Context, location: string[], change: string, breaking: boolean, schema?: string): void {
  ctx.findings.push({
    operationId: ctx.operationId,
    location: location.join(' → '),
    change,
    breaking: breaking && !ctx.inError,
    ...(breaking && ctx.inError ? { notable: true as const } : {}),
    ...(schema ? { schema } : {}),
  });
}

/**
 * The differences, for each operation of `operationIds` (default: every operation of `oldDocument`),
 * between two OpenAPI 3.x descriptions, in the order of the operations, then of the description.
 *
 * @param oldDocument - the description the connector was built from (OpenAPI 3.0 or 3.1, as JSON).
 * @param newDocument - the vendor's new version of it.
 * @param operationIds - the operations the connector allows; an id absent from `oldDocument` is
 *   reported as a non-breaking finding (nothing depends on it yet), so check ids first when that is an
 *   error (the CLI does).
 * @returns the findings, breaking or not (filter on {@link Finding.breaking}).
 */
export function diffOperations(
  oldDocument: JsonObject,
  newDocument: JsonObject,
  operationIds?: readonly string[],
): Finding[] {
  const oldOps = indexOperations(oldDocument);
  const newOps = indexOperations(newDocument);
  const ids = operationIds ?? [...oldOps.keys()];
  const findings: Finding[] = [];
  for (const id of ids) {
    const ctx: Context = { old: oldDocument, new: newDocument, operationId: id, findings, seen: new Set() };
    const before = oldOps.get(id);
    const after = newOps.get(id);
    if (!before) {
      const where = after ? `${after.method.toUpperCase()} ${after.path}` : id;
      report(ctx, [where], 'operation not in the old description', false);
      continue;
    }
    const where = `${before.method.toUpperCase()} ${before.path}`;
    if (!after) {
      report(ctx, [where], 'operation removed', true);
      continue;
    }
    if (after.method !== before.method || after.path !== before.path) {
      report(ctx, [where], `operation moved to ${after.method.toUpperCase()} ${after.path}`, true);
    }
    diffParameters(ctx, where, before.parameters, after.parameters);
    diffRequestBody(ctx, where, before.operation.requestBody, after.operation.requestBody);
    diffResponses(ctx, where, before.operation.responses, after.operation.responses);
  }
  if (!operationIds) {
    for (const [id, after] of newOps) {
      if (!oldOps.has(id)) {
        findings.push({
          operationId: id,
          location: `${after.method.toUpperCase()} ${after.path}`,
          change: 'operation added',
          breaking: false,
        });
      }
    }
  }
  return findings;
}

function diffParameters(ctx: Context, where: string, before: JsonObject[], after: JsonObject[]): void {
  const afterByKey = new Map(after.map((p) => [parameterKey(p), p]));
  const beforeKeys = new Set(before.map(parameterKey));
  for (const old of before) {
    const location = [where, `${String(old.in)} parameter ${String(old.name)}`];
    const neu = afterByKey.get(parameterKey(old));
    if (!neu) {
      // One new parameter in the same place is most likely the old one renamed: say so.
      const added = after.filter((p) => p.in === old.in && !beforeKeys.has(parameterKey(p)));
      const rename = added.length === 1 ? ` to ${String(added[0]?.name)}` : '';
      report(ctx, location, `parameter removed (or renamed${rename})`, true);
      continue;
    }
    if (old.required !== true && neu.required === true)
      report(ctx, location, 'parameter became required', true);
    if (old.required === true && neu.required !== true)
      report(ctx, location, 'parameter became optional', false);
    diffSchema(ctx, location, parameterSchema(old), parameterSchema(neu), 'request', undefined);
  }
  for (const neu of after) {
    if (beforeKeys.has(parameterKey(neu))) continue;
    const required = neu.required === true;
    report(
      ctx,
      [where, `${String(neu.in)} parameter ${String(neu.name)}`],
      required ? 'required parameter added' : 'optional parameter added',
      required,
    );
  }
}

/** A parameter's schema: `schema`, or that of its (only) `content` media type. */
function parameterSchema(parameter: JsonObject): Json | undefined {
  if (parameter.schema !== undefined) return parameter.schema;
  if (isObject(parameter.content)) {
    const first = Object.values(parameter.content)[0];
    if (isObject(first)) return first.schema;
  }
  return undefined;
}

function diffRequestBody(
  ctx: Context,
  where: string,
  rawBefore: Json | undefined,
  rawAfter: Json | undefined,
): void {
  const before = deref(ctx.old, rawBefore).node;
  const after = deref(ctx.new, rawAfter).node;
  const location = [where, 'request body'];
  if (!before) {
    if (after)
      report(
        ctx,
        location,
        after.required === true ? 'required request body added' : 'request body added',
        after.required === true,
      );
    return;
  }
  if (!after) {
    report(ctx, location, 'request body removed', true);
    return;
  }
  if (before.required !== true && after.required === true)
    report(ctx, location, 'request body became required', true);
  diffContent(ctx, location, before.content, after.content, 'request');
}

function diffContent(
  ctx: Context,
  location: string[],
  before: Json | undefined,
  after: Json | undefined,
  direction: Direction,
): void {
  if (!isObject(before)) return;
  const afterContent = isObject(after) ? after : {};
  const types = Object.keys(before);
  for (const type of types) {
    // One media type needs no naming in the location; several do.
    const at = types.length > 1 ? [...location, type] : location;
    const old = before[type];
    const neu = afterContent[type];
    if (!isObject(neu)) {
      report(ctx, [...location, type], 'media type removed', true);
      continue;
    }
    if (isObject(old)) diffSchema(ctx, [...at, 'body'], old.schema, neu.schema, direction, undefined);
  }
  for (const type of Object.keys(afterContent)) {
    if (!(type in before)) report(ctx, [...location, type], 'media type added', false);
  }
}

/**
 * Every documented answer: a 2xx's changes under the response rules, an error answer's (4xx, 5xx,
 * `default`, any other) under the same rules but {@link Finding.notable} rather than breaking.
 */
function diffResponses(ctx: Context, where: string, before: Json | undefined, after: Json | undefined): void {
  if (!isObject(before)) return;
  const afterResponses = isObject(after) ? after : {};
  for (const status of Object.keys(before)) {
    ctx.inError = !isSuccess(status);
    const location = [where, `response ${status}`];
    const neu = deref(ctx.new, afterResponses[status]).node;
    if (!neu) {
      report(ctx, location, 'response status removed', true);
      continue;
    }
    const old = deref(ctx.old, before[status]).node;
    if (old) {
      diffHeaders(ctx, location, old.headers, neu.headers);
      diffContent(ctx, location, old.content, neu.content, 'response');
    }
  }
  ctx.inError = false;
  for (const status of Object.keys(afterResponses)) {
    if (!(status in before)) report(ctx, [where, `response ${status}`], 'response status added', false);
  }
}

/**
 * The documented headers of one answer, matched whatever their case: one removed (a rate-limit
 * header a caller reads in `data.headers`), or no longer `required`, breaks; its schema is compared
 * as a response body's; one added does not.
 */
function diffHeaders(
  ctx: Context,
  location: string[],
  before: Json | undefined,
  after: Json | undefined,
): void {
  if (!isObject(before)) return;
  const byName = (headers: JsonObject) =>
    new Map(Object.entries(headers).map(([name, header]) => [name.toLowerCase(), { name, header }]));
  const afterHeaders = byName(isObject(after) ? after : {});
  const beforeHeaders = byName(before);
  for (const [key, { name, header }] of beforeHeaders) {
    const at = [...location, `header ${name}`];
    const neu = afterHeaders.get(key);
    if (!neu) {
      report(ctx, at, 'response header removed', true);
      continue;
    }
    const old = deref(ctx.old, header).node;
    const next = deref(ctx.new, neu.header).node;
    if (!old || !next) continue;
    if (old.required === true && next.required !== true)
      report(ctx, at, 'response header no longer required (may be absent)', true);
    diffSchema(ctx, at, parameterSchema(old), parameterSchema(next) ?? {}, 'response', undefined);
  }
  for (const [key, { name }] of afterHeaders) {
    if (!beforeHeaders.has(key)) report(ctx, [...location, `header ${name}`], 'response header added', false);
  }
}

/** A schema's types, `nullable` (3.0) read as `null` (3.1); empty when it names none. */
function typesOf(schema: JsonObject): Set<string> {
  const types = new Set<string>();
  if (typeof schema.type === 'string') types.add(schema.type);
  else if (Array.isArray(schema.type)) for (const t of schema.type) types.add(String(t));
  if (types.size > 0 && schema.nullable === true) types.add('null');
  return types;
}

function subsetOf(a: Set<string>, b: Set<string>): boolean {
  // An integer is a number (JSON Schema): widening integer to number is a superset.
  return [...a].every((t) => b.has(t) || (t === 'integer' && b.has('number')));
}

/** `allOf` merged into one object schema (properties and `required` united), else the schema itself. */
function flatten(document: JsonObject, schema: JsonObject, depth = 0): JsonObject {
  if (!Array.isArray(schema.allOf) || depth > 8) return schema;
  const properties: JsonObject = isObject(schema.properties) ? { ...schema.properties } : {};
  const required = new Set<string>(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const merged: JsonObject = { ...schema };
  for (const part of schema.allOf) {
    const node = deref(document, part).node;
    if (!node) continue;
    const flat = flatten(document, node, depth + 1);
    if (isObject(flat.properties)) Object.assign(properties, flat.properties);
    if (Array.isArray(flat.required)) for (const name of flat.required) required.add(String(name));
    if (merged.type === undefined && flat.type !== undefined) merged.type = flat.type;
  }
  delete merged.allOf;
  if (Object.keys(properties).length > 0) merged.properties = properties;
  if (required.size > 0) merged.required = [...required];
  return merged;
}

/** The path of a value inside the body, e.g. `body.messages[].sid`, as the last part of `location`. */
function child(location: string[], suffix: string): string[] {
  return [...location.slice(0, -1), `${location.at(-1)}${suffix}`];
}

function diffSchema(
  ctx: Context,
  location: string[],
  rawBefore: Json | undefined,
  rawAfter: Json | undefined,
  direction: Direction,
  inSchema: string | undefined,
): void {
  if (rawBefore === undefined) return;
  const before = deref(ctx.old, rawBefore);
  const after = deref(ctx.new, rawAfter);
  if (before.ref !== undefined || after.ref !== undefined) {
    const key = `${direction}${ctx.inError ? ' error' : ''}|${before.ref ?? JSON.stringify(rawBefore)}|${after.ref ?? JSON.stringify(rawAfter)}`;
    if (ctx.seen.has(key)) return;
    ctx.seen.add(key);
  }
  const schema = before.ref ?? inSchema;
  if (!before.node) return; // an external or dangling `$ref` in the old description: nothing to compare.
  if (!after.node) {
    if (rawAfter === undefined) report(ctx, location, 'schema removed', true, schema);
    else if (before.ref !== after.ref)
      report(ctx, location, `reference changed to ${after.ref}`, true, schema);
    return;
  }
  const old = flatten(ctx.old, before.node);
  const neu = flatten(ctx.new, after.node);

  const oldTypes = typesOf(old);
  const newTypes = typesOf(neu);
  if (oldTypes.size > 0 && newTypes.size > 0 && !sameSet(oldTypes, newTypes)) {
    // A request may accept more than before, a response return less; not the other way round.
    const widened = direction === 'request' ? subsetOf(oldTypes, newTypes) : subsetOf(newTypes, oldTypes);
    report(
      ctx,
      location,
      `type changed from ${[...oldTypes].join('|')} to ${[...newTypes].join('|')}`,
      !widened,
      schema,
    );
  } else if (oldTypes.size === 0 && newTypes.size > 0 && direction === 'request') {
    report(ctx, location, `type restricted to ${[...newTypes].join('|')}`, true, schema);
  }

  if (Array.isArray(old.enum)) {
    const newEnum = Array.isArray(neu.enum) ? neu.enum.map((v) => JSON.stringify(v)) : undefined;
    if (newEnum) {
      const oldEnum = old.enum.map((v) => JSON.stringify(v));
      for (const value of oldEnum)
        if (!newEnum.includes(value)) report(ctx, location, `enum value ${value} removed`, true, schema);
      for (const value of newEnum)
        if (!oldEnum.includes(value)) report(ctx, location, `enum value ${value} added`, false, schema);
    }
  } else if (Array.isArray(neu.enum) && direction === 'request') {
    report(ctx, location, 'values restricted to an enum', true, schema);
  }

  diffProperties(ctx, location, old, neu, direction, schema);
  if (old.items !== undefined)
    diffSchema(ctx, child(location, '[]'), old.items, neu.items ?? {}, direction, schema);
  if (isObject(old.additionalProperties)) {
    const next = isObject(neu.additionalProperties) ? neu.additionalProperties : {};
    diffSchema(ctx, child(location, '.*'), old.additionalProperties, next, direction, schema);
  }
  for (const keyword of ['oneOf', 'anyOf'] as const) {
    const oldVariants = old[keyword];
    if (!Array.isArray(oldVariants)) continue;
    const newVariants = Array.isArray(neu[keyword]) ? neu[keyword] : [];
    oldVariants.forEach((variant, index) => {
      const at = child(location, `<${keyword} ${index}>`);
      if (index >= newVariants.length)
        report(ctx, at, `${keyword} variant removed`, direction === 'request', schema);
      else diffSchema(ctx, at, variant, newVariants[index], direction, schema);
    });
    for (let index = oldVariants.length; index < newVariants.length; index++) {
      report(
        ctx,
        child(location, `<${keyword} ${index}>`),
        `${keyword} variant added`,
        direction === 'response',
        schema,
      );
    }
  }
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((v) => b.has(v));
}

function diffProperties(
  ctx: Context,
  location: string[],
  old: JsonObject,
  neu: JsonObject,
  direction: Direction,
  schema: string | undefined,
): void {
  const oldProps = isObject(old.properties) ? old.properties : {};
  const newProps = isObject(neu.properties) ? neu.properties : {};
  const oldRequired = new Set(Array.isArray(old.required) ? old.required.map(String) : []);
  const newRequired = new Set(Array.isArray(neu.required) ? neu.required.map(String) : []);
  for (const [name, property] of Object.entries(oldProps)) {
    const at = child(location, `.${name}`);
    if (!(name in newProps)) {
      report(ctx, at, 'property removed', true, schema);
      continue;
    }
    if (direction === 'request' && !oldRequired.has(name) && newRequired.has(name))
      report(ctx, at, 'property became required', true, schema);
    if (direction === 'response' && oldRequired.has(name) && !newRequired.has(name))
      report(ctx, at, 'property no longer required (may be absent)', true, schema);
    diffSchema(ctx, at, property, newProps[name], direction, schema);
  }
  for (const name of Object.keys(newProps)) {
    if (name in oldProps) continue;
    const required = direction === 'request' && newRequired.has(name);
    report(
      ctx,
      child(location, `.${name}`),
      required ? 'required property added' : 'property added',
      required,
      schema,
    );
  }
}
