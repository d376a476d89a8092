/**
 * `npm start` as a user runs it: the real CLI (`node --import tsx local/server.ts`) in a child process, its
 * output, a request through it, Ctrl-C, and a bad configuration.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Envelope,
  EXAMPLE_TOKEN,
  type HttpbinEcho,
  writeTempSecrets,
} from '../support/integration-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/**
 * What `npm start` runs (`node --import tsx local/server.ts`), with this Node (24), not whatever
 * `node` is on PATH. One process: Ctrl-C reaches the server itself. (Under tsx's CLI, a parent
 * process relays signals and SIGKILLs the server when it has not acknowledged one within 30 ms,
 * which a loaded machine misses: the gateway was killed mid-shutdown and the run exited 130.)
 */
const START_ARGS = ['--import', 'tsx', 'local/server.ts'];
/**
 * The bound of a test that starts `npm start`, in ms. A start loads a fresh Node, tsx, every vendor
 * SDK and the embedded DynamoDB: about 5 s on an idle 2-core machine, 10 s and more when other
 * processes share the cores. The tests wait for the process's own output and exit, never for a
 * guessed time; this only stops a start that hangs.
 */
const CLI_TEST_TIMEOUT_MS = 120_000;

/** A running `npm start`. */
interface StartedCli {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: StartedCli[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cli of started.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null && cli.child.pid !== undefined) {
      // The whole process group: the server and anything it started.
      process.kill(-cli.child.pid, 'SIGKILL');
      await cli.exited;
    }
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function startCli(env: Record<string, string | undefined>): StartedCli {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['SUITE_CONFIG', 'LOCAL_SECRETS_FILE', 'PORT', 'POWERTOOLS_DEV']) delete childEnv[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(process.execPath, START_ARGS, {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so Ctrl-C can be sent to the group as a terminal does, and nothing outlives the test.
    detached: true,
  });
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const cli = { child, output: () => text, exited };
  started.push(cli);
  return cli;
}

/** Parses the JSON log lines of `text`, skipping anything else. */
function logLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return parsed !== null && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Resolves with the "listening" log line as soon as the process prints it; rejects, with its
 * output, when the process ends without printing it. Waits on the process's events only.
 */
function waitForListening(cli: StartedCli): Promise<Record<string, unknown>> {
  const { child } = cli;
  return new Promise((resolve, reject) => {
    const listening = () => logLines(cli.output()).find((l) => String(l.message).includes('listening on'));
    const stop = () => {
      child.stdout?.off('data', onOutput);
      child.stderr?.off('data', onOutput);
      child.off('close', onClose);
    };
    // Registered after startCli's own listeners, so cli.output() already holds the chunk.
    const onOutput = () => {
      const line = listening();
      if (line) {
        stop();
        resolve(line);
      }
    };
    const onClose = () => {
      stop();
      const line = listening();
      if (line) resolve(line);
      else reject(new Error(`npm start ended without reporting listening. Output:\n${cli.output()}`));
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.on('close', onClose);
    onOutput();
  });
}

describe.skipIf(!process.env.HTTPBIN_URL)('npm start against httpbin', () => {
  it(
    'starts, lists its connectors, serves /anything/hello, and exits 0 on SIGINT without printing the token',
    async () => {
      // Prepare
      const secrets = await writeTempSecrets();
      cleanups.push(secrets.cleanup);
      const cli = startCli({
        HTTPBIN_URL: process.env.HTTPBIN_URL,
        PORT: '0',
        LOCAL_SECRETS_FILE: secrets.file,
      });
      const pid = cli.child.pid;
      if (pid === undefined) throw new Error('npm start was not spawned');
      const listening = await waitForListening(cli);
      const url = String(listening.url);

      // Act
      const response = await fetch(`${url}/v1/connectors/httpbin/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ method: 'GET', path: '/anything/hello' }),
      });
      const body = (await response.json()) as Envelope<HttpbinEcho>;
      // Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
      process.kill(-pid, 'SIGINT');
      const exit = await cli.exited;

      // Assess
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(url).not.toMatch(/:0$/);
      expect(listening.connectors).toContainEqual({
        name: 'httpbin',
        kind: 'http',
        baseUrl: process.env.HTTPBIN_URL,
        route: `POST ${url}/v1/connectors/httpbin/{operation}`,
      });
      expect((listening.connectors as Array<{ name: string }>).map((c) => c.name)).toEqual([
        'httpbin',
        'stripe',
        'slack',
        'github',
        'twilio',
      ]);
      expect(response.status).toBe(200);
      expect(body.data?.status).toBe(200);
      // The caller never receives the connector's credentials, even as the vendor echoes them.
      expect(body.data?.body.headers.Authorization).toBe('Bearer [REDACTED]');
      expect(exit).toEqual({ code: 0, signal: null });
      const output = cli.output();
      expect(output).toContain('"upstream attempt"');
      expect(output).toContain('Stopping (SIGINT)');
      expect(output).not.toContain(EXAMPLE_TOKEN);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('npm start with an invalid configuration', () => {
  it(
    'exits 1 naming the bad field, without a stack trace',
    async () => {
      // Prepare
      const dir = await mkdtemp(path.join(tmpdir(), 'connector-suite-it-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const configFile = path.join(dir, 'suite.config.json');
      await writeFile(
        configFile,
        JSON.stringify({
          connectors: [
            { name: 'broken', kind: 'http', baseUrl: 'ftp://x', allowedPathPrefixes: ['/anything'] },
          ],
        }),
      );

      // Act
      const cli = startCli({ SUITE_CONFIG: configFile, PORT: '0' });
      const exit = await cli.exited;

      // Assess
      expect(exit).toEqual({ code: 1, signal: null });
      const output = cli.output();
      expect(output).toContain('connectors[0].baseUrl');
      expect(output).toContain(configFile);
      expect(output).not.toMatch(/ {4}at /);
      expect(output).not.toMatch(/\\n\s+at /);
      expect(output).not.toContain('listening on');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
