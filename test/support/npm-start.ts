/**
 * `npm start` in a child process, as a user runs it (`node --import tsx local/server.ts`), in its
 * own process group so that nothing it starts outlives the test; resolved once it prints where it
 * listens (the process's own output, never a timer).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { listeningUrlOf, waitForOutput } from './wait-for-output.js';

/** What `npm start` runs. */
export const START_ARGS = ['--import', 'tsx', 'local/server.ts'];

/** A running `npm start`. */
export interface StartedGateway {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Its output so far, stdout and stderr. */
  output(): string;
  /** Kills its process group, if still running, and resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `npm start` in `cwd` with exactly `env`.
 * @throws Error with its output when it ends before it listens (its group is then already gone)
 */
export async function startNpmStart(cwd: string, env: NodeJS.ProcessEnv): Promise<StartedGateway> {
  const child = spawn(process.execPath, START_ARGS, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid, 'SIGKILL');
      await exited;
    }
  };
  const url = await waitForOutput(child, () => output, listeningUrlOf, 'listening').catch(
    async (error: unknown) => {
      await stop();
      throw error;
    },
  );
  return { child, url, output: () => output, stop };
}
