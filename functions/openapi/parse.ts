/**
 * The text of an API description file as a value: JSON, or YAML for a `.yaml` / `.yml` file (and
 * for a file of another name that is not JSON). Shared by the `openapi` kind
 * (functions/openapi/description.ts) and `npm run spec:diff` (scripts/spec-diff/load.ts).
 */

/** Whether `file` is named as a YAML file (`.yaml` or `.yml`, any case). */
export function isYamlFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/**
 * Parses a description's text: `JSON.parse` (fast on multi-megabyte descriptions) unless `file` is
 * named `.yaml` / `.yml`; YAML (the `yaml` package, YAML 1.2 core schema, at most 100 aliases, no
 * duplicate keys) for those, and for any other text that is not JSON.
 * @param text - the file's content
 * @param file - its name, which picks the parser
 * @returns the parsed value (not yet checked to be a description)
 * @throws Error with a one-line message, `not JSON or YAML: …` (the parser's first line, with its
 *   line and column), when neither parser reads it
 */
export async function parseDescriptionText(text: string, file: string): Promise<unknown> {
  if (!isYamlFile(file)) {
    try {
      return JSON.parse(text);
    } catch {
      // YAML is a superset of JSON: a file that is not JSON may still be YAML.
    }
  }
  const { parse } = await import('yaml');
  try {
    return parse(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (error) {
    const first = String((error as Error).message).split('\n')[0];
    throw new Error(`not JSON or YAML: ${first}`);
  }
}
