/**
 * Values a suite file reads from the environment, remembered with the variable's name so that a
 * config error on such a value can say where it came from (`connectors[0].baseUrl: must use https
 * (from HTTPBIN_URL)`): a URL exported for `npm start` breaks `cdk synth` far from where it was set.
 */

/** Each value read through {@link fromEnvironment}, with the variables it was read from. */
const sources = new Map<string, Set<string>>();

/**
 * Reads an environment variable for a suite file and remembers where the value came from.
 * @param variable - the variable's name, e.g. `HTTPBIN_URL`
 * @returns its value, or `undefined` when it is unset or empty (as `process.env.X || fallback` reads it)
 */
export function fromEnvironment(variable: string): string | undefined {
  const value = process.env[variable];
  if (!value) return undefined;
  const names = sources.get(value) ?? new Set<string>();
  names.add(variable);
  sources.set(value, names);
  return value;
}

/**
 * The variables a value was read from through {@link fromEnvironment}, e.g. `['HTTPBIN_URL']`;
 * empty for a value written in the file (or not a string).
 */
export function environmentSources(value: unknown): string[] {
  return typeof value === 'string' ? [...(sources.get(value) ?? [])] : [];
}
