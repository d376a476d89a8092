/**
 * `npm start` as a user runs it: the real CLI (`node --import tsx local/server.ts`) in a child
 * process, its startup block, a request through it, Ctrl-C, and the errors a person acts on: a bad
 * configuration, `--help`, a bad `PORT` and a missing secret.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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
import { waitForOutput } from '../support/wait-for-output.js';

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

function startCli(env: Record<string, string | undefined>, args: readonly string[] = []): StartedCli {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['SUITE_CONFIG', 'LOCAL_SECRETS_FILE', 'PORT', 'POWERTOOLS_DEV']) delete childEnv[name];
  // A free port for the embedded DynamoDB: other test files may run npm start at the same time.
  childEnv.DYNAMODB_PORT = '0';
  // Its own state directory, not the checkout's .local/: each run starts clean, and runs at once do not share it.
  const stateDir = mkdtempSync(path.join(tmpdir(), 'npm-start-state-'));
  childEnv.LOCAL_STATE_DIR = stateDir;
  cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(process.execPath, [...START_ARGS, ...args], {
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

/** The first line of the startup block, with the gateway's URL. */
const LISTENING = /^Connector Suite local gateway listening on (http:\/\/\S+)$/m;

/** The startup block as printed: its text from the "listening on" line, and the URL in that line. */
interface StartupBlock {
  url: string;
  /** The block's lines up to `Ctrl-C stops it.` (or all printed so far). */
  lines: string[];
}

/** The startup block in `text`, once its last line is printed. */
function startupBlockOf(text: string): StartupBlock | undefined {
  const match = LISTENING.exec(text);
  if (!match?.[1]) return undefined;
  const rest = text.slice(match.index);
  const end = rest.indexOf('Ctrl-C stops it.');
  if (end < 0) return undefined;
  return { url: match[1], lines: rest.slice(0, end).split('\n') };
}

/**
 * Resolves with the startup block as soon as the process has printed it; rejects, with its
 * output, when the process ends without printing it. Waits on the process's events only.
 */
function waitForListening(cli: StartedCli): Promise<StartupBlock> {
  // startCli's own listeners are registered first, so cli.output() already holds each chunk.
  return waitForOutput(cli.child, cli.output, startupBlockOf, 'reporting listening');
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
      const { url } = listening;

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
      expect(listening.lines).toContain(
        `  httpbin  POST ${url}/v1/connectors/httpbin/{operation}  (http, ${process.env.HTTPBIN_URL})`,
      );
      const routes = listening.lines.flatMap((l) => /\/v1\/connectors\/(\w+)\//.exec(l)?.[1] ?? []);
      expect(routes).toEqual(['httpbin', 'stripe', 'slack', 'github', 'twilio']);
      expect(listening.lines).toContain(`  publish       POST ${url}/v1/events`);
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
    'exits 1 naming the bad field in plain lines, with a suggestion for an unknown key, without a stack trace',
    async () => {
      // Prepare
      const dir = await mkdtemp(path.join(tmpdir(), 'connector-suite-it-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const configFile = path.join(dir, 'suite.config.json');
      await writeFile(
        configFile,
        JSON.stringify({
          connectors: [
            {
              name: 'broken',
              kind: 'http',
              baseUrl: 'ftp://x',
              allowedPathPrefixes: ['/anything'],
              timeoutMS: 5_000,
            },
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
      expect(output).toContain(
        '  - connectors[0]: Unrecognized key: "timeoutMS" (did you mean `timeoutMs`?)',
      );
      // Readable lines, not a JSON log line.
      expect(output).not.toContain('"level"');
      expect(output).not.toMatch(/ {4}at /);
      expect(output).not.toMatch(/\\n\s+at /);
      expect(output).not.toContain('listening on');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('npm start, errors a person can act on', () => {
  it(
    'prints the options and variables for --help and exits 0 without starting',
    async () => {
      // Act
      const cli = startCli({}, ['--help']);
      const exit = await cli.exited;

      // Assess
      expect(exit).toEqual({ code: 0, signal: null });
      const output = cli.output();
      for (const name of [
        '--help',
        'PORT',
        'SUITE_CONFIG',
        'LOCAL_SECRETS_FILE',
        'HTTPBIN_URL',
        'STRIPE_BASE_URL',
      ]) {
        expect(output).toContain(name);
      }
      expect(output).not.toContain('listening on');
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'exits 1 naming PORT and its value when it is not a port, without a stack trace',
    async () => {
      // Act
      const cli = startCli({ PORT: '30o0' });
      const exit = await cli.exited;

      // Assess
      expect(exit).toEqual({ code: 1, signal: null });
      const output = cli.output();
      expect(output).toContain('PORT must be an integer from 0 to 65535 (0 picks a free port), not "30o0".');
      expect(output).not.toMatch(/ {4}at /);
      expect(output).not.toContain('listening on');
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'reports a missing secret at startup, naming the connector, the secret and its shape, and still serves',
    async () => {
      // Prepare: a bearer connector whose secret the secrets file lacks; it is never called.
      const secrets = await writeTempSecrets({ other: { token: EXAMPLE_TOKEN } });
      cleanups.push(secrets.cleanup);
      const dir = await mkdtemp(path.join(tmpdir(), 'connector-suite-it-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const configFile = path.join(dir, 'suite.config.json');
      await writeFile(
        configFile,
        JSON.stringify({
          connectors: [
            {
              name: 'orders',
              kind: 'http',
              baseUrl: 'http://127.0.0.1:9',
              auth: { type: 'bearer', secret: 'orders-token' },
              allowedPathPrefixes: ['/anything'],
            },
          ],
        }),
      );

      // Act
      const cli = startCli({ SUITE_CONFIG: configFile, LOCAL_SECRETS_FILE: secrets.file, PORT: '0' });
      const listening = await waitForListening(cli);
      // The connector without its secret does not stop the gateway: it serves.
      const queue = await fetch(`${listening.url}/v1/queue`);
      await queue.body?.cancel();

      // Assess
      expect(listening.lines).toContain(
        'Missing secrets: each of these connectors answers CONFIGURATION_ERROR until its secret is in the secrets file:',
      );
      expect(listening.lines).toContain(
        `  orders  Secret 'orders-token' not found in local secrets file ${secrets.file}.`,
      );
      expect(listening.lines).toContain('          add: "orders-token": {"token": "..."}');
      expect(queue.status).toBe(200);
      expect(cli.output()).not.toContain(EXAMPLE_TOKEN);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
