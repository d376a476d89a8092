/**
 * Waits for a child process (`npm start`) to print something, on the process's own events only
 * (each chunk of its output, and its end), never on a timer.
 */
import type { ChildProcess } from 'node:child_process';

/**
 * Resolves with what `find` reads in the output as soon as it reads something; rejects, with the
 * output, when the process ends before.
 * @param output - the process's output so far (stdout and stderr), kept by the caller's own listeners,
 *   which must be registered before this is called
 * @param find - what to wait for in the output, or `undefined` while it is not there
 * @param what - what is awaited, for the error (`reporting listening`)
 */
export function waitForOutput<T>(
  child: ChildProcess,
  output: () => string,
  find: (output: string) => T | undefined,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      child.stdout?.off('data', onOutput);
      child.stderr?.off('data', onOutput);
      child.off('close', onClose);
    };
    const onOutput = () => {
      const found = find(output());
      if (found !== undefined) {
        stop();
        resolve(found);
      }
    };
    const onClose = () => {
      stop();
      const found = find(output());
      if (found !== undefined) resolve(found);
      else reject(new Error(`npm start ended without ${what}. Output:\n${output()}`));
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.on('close', onClose);
    onOutput();
  });
}

/** The gateway's URL in `npm start`'s output (`listening on http://127.0.0.1:PORT`), if printed yet. */
export function listeningUrlOf(output: string): string | undefined {
  return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
}
