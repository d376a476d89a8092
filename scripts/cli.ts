/** What the project's command-line tools (`npm run invoke`, `npm run redrive`) share. */

/** Exit code of a usage error: a missing or invalid option. */
export const EXIT_USAGE = 2;
/** Exit code of a failure of the command itself. */
export const EXIT_FAILURE = 1;

/** A wrong or missing option: reported as one line, exit code {@link EXIT_USAGE}. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The first line of an error's message: commands report failures in one line, never a stack trace. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
