/**
 * The sandbox of `npm start` (issue 11): with no settings, every connector of the default suite is
 * served against a local stand-in that starts with the gateway, so the first call works offline.
 * `http` connectors aimed at the public httpbin get the echo service of `stand-ins/echo.ts`; the
 * vendor kinds get the mocks built from the vendors' own API descriptions (`stand-ins/registry.ts`),
 * with the example secrets of `local/secrets.example.json`, which satisfy each stand-in.
 *
 * A connector is **live** (called as configured, with the secrets of `local/secrets.json`, as before
 * the sandbox) when:
 * - `LIVE=1` (or `true`) is set, or `npm start -- --live` is run: every connector is live;
 * - its base URL is given: its variable of `baseUrlVariables` is set (`HTTPBIN_URL`,
 *   `STRIPE_BASE_URL`, `SLACK_BASE_URL`, `GITHUB_BASE_URL`, `TWILIO_BASE_URL` in the default
 *   suite), or its `baseUrl` is not the public API a stand-in stands for (`https://httpbin.org`
 *   for `http`, the vendor's own API of `VENDOR_BASE_URLS` for a vendor kind);
 * - it has no stand-in (an `http` connector aimed elsewhere, a kind of your own).
 *
 * Otherwise it is **sandboxed**. See docs/local-mode.md#the-sandbox.
 *
 * @module
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AnyConnectorConfig,
  isVendorConnector,
  type SuiteConfig,
  secretNameOf,
  VENDOR_BASE_URLS,
  webhookOf,
} from '../functions/shared/config.js';
import { LocalFileCredentialStore } from '../functions/shared/credentials/local-file.js';
import type { CredentialStore } from '../functions/shared/credentials/store.js';
import { startEchoStandIn } from './stand-ins/echo.js';
import {
  isMockedVendorKind,
  type MockedVendorKind,
  VENDOR_MOCKS,
  type VendorMock,
} from './stand-ins/registry.js';

/** Whether a connector calls a local stand-in (`sandbox`) or its configured base URL (`live`). */
export type ConnectorMode = 'sandbox' | 'live';

/** The stand-in a sandboxed connector calls: the echo service, or a vendor kind's mock. */
export type StandInName = 'echo' | MockedVendorKind;

/** Why a connector is live. */
export type LiveReason = 'live-requested' | 'base-url-given' | 'no-stand-in';

/** The mode chosen for one connector, by {@link decideConnectorMode}. */
export type ConnectorModeDecision =
  | { mode: 'sandbox'; standIn: StandInName }
  | { mode: 'live'; reason: LiveReason };

/** One connector's mode as `npm start` reports it. */
export interface ConnectorModeReport {
  name: string;
  kind: string;
  mode: ConnectorMode;
  /** The base URL the connector calls: its stand-in's when sandboxed. */
  baseUrl: string;
  /** The stand-in it calls (sandbox only). */
  standIn?: StandInName;
  /** Why it is live (live only). */
  reason?: LiveReason;
  /** How to make it live (sandbox only): its base-URL variable or `LIVE=1`, and a real secret. */
  goLive?: string;
}

/** Options of {@link decideConnectorMode}. */
export interface ConnectorModeOptions {
  /** Every connector live (`LIVE=1`, `--live`). @default false */
  live?: boolean;
  /**
   * The connector's base URL was given by its variable (`STRIPE_BASE_URL=https://api.stripe.com`),
   * even if it is the public API a stand-in stands for. @default false
   */
  baseUrlGiven?: boolean;
  /** The `http` base URLs' origins the echo service stands in for. @default {@link ECHO_STOOD_IN_ORIGINS} */
  echoOrigins?: readonly string[];
}

/** Options of {@link startSandbox}. */
export interface SandboxOptions extends ConnectorModeOptions {
  /**
   * Every connector live. @default `true` when `env.LIVE` is `1` or `true`, or `argv` holds `--live`
   */
  live?: boolean;
  /** Where `LIVE` is read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Where `--live` is read. @default process.argv.slice(2) */
  argv?: readonly string[];
  /**
   * The environment variable that gives each connector's base URL, by connector name: set (not
   * empty) in `env`, it makes the connector live; it is named in the "how to go live" hint.
   * @default {@link DEFAULT_BASE_URL_VARIABLES} (those of `suite.config.ts`)
   */
  baseUrlVariables?: Readonly<Record<string, string>>;
  /**
   * The secrets sandboxed connectors read (they satisfy every stand-in).
   * @default `local/secrets.example.json`
   */
  exampleSecretsFile?: string;
}

/** A started sandbox: the suite to serve, each connector's mode, and the stand-ins to stop. */
export interface Sandbox {
  /** The suite with each sandboxed connector's `baseUrl` pointed at its stand-in; live ones as given. */
  config: SuiteConfig<AnyConnectorConfig>;
  /** Each connector's mode, in suite order. */
  connectors: ConnectorModeReport[];
  /** The stand-ins started, by name, each with its `url` (none when every connector is live). */
  standIns: Partial<Record<StandInName, VendorMock>>;
  /**
   * The credential store to serve with: a secret read only by sandboxed connectors comes from the
   * example secrets; any other from `store` (the user's `local/secrets.json`), so a real secret never
   * reaches a stand-in and a sandboxed connector needs none.
   */
  credentials(store: CredentialStore): CredentialStore;
  /** Stops every stand-in and drops their open connections. */
  close(): Promise<void>;
}

/** The origins of `http` base URLs served by the echo service: the public httpbin of the default suite. */
export const ECHO_STOOD_IN_ORIGINS: readonly string[] = ['https://httpbin.org', 'http://httpbin.org'];

/** The base-URL variables of the default `suite.config.ts`, by connector name. */
export const DEFAULT_BASE_URL_VARIABLES: Readonly<Record<string, string>> = {
  httpbin: 'HTTPBIN_URL',
  stripe: 'STRIPE_BASE_URL',
  slack: 'SLACK_BASE_URL',
  github: 'GITHUB_BASE_URL',
  twilio: 'TWILIO_BASE_URL',
};

const EXAMPLE_SECRETS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'secrets.example.json');

/**
 * Whether every connector is to be live: `LIVE=1` (or `true`, any case) or a `--live` argument.
 * @param env - @default process.env
 * @param argv - @default process.argv.slice(2)
 */
export function isLiveRequested(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): boolean {
  return ['1', 'true'].includes((env.LIVE ?? '').trim().toLowerCase()) || argv.includes('--live');
}

/**
 * The mode of one connector (rules at the top of this module): live when asked for, when its base
 * URL is given, or when there is no stand-in for it; otherwise sandboxed, with its stand-in.
 */
export function decideConnectorMode(
  connector: AnyConnectorConfig,
  options: ConnectorModeOptions = {},
): ConnectorModeDecision {
  if (options.live) return { mode: 'live', reason: 'live-requested' };
  if (options.baseUrlGiven) return { mode: 'live', reason: 'base-url-given' };
  if (connector.kind === 'http') {
    const baseUrl = (connector as { baseUrl: string }).baseUrl;
    const origins = options.echoOrigins ?? ECHO_STOOD_IN_ORIGINS;
    let origin: string;
    try {
      origin = new URL(baseUrl).origin;
    } catch {
      return { mode: 'live', reason: 'no-stand-in' };
    }
    return origins.includes(origin)
      ? { mode: 'sandbox', standIn: 'echo' }
      : { mode: 'live', reason: 'base-url-given' };
  }
  if (isVendorConnector(connector) && isMockedVendorKind(connector.kind)) {
    // The schema defaults a vendor's baseUrl to its own API: that one is stood in for.
    return connector.baseUrl.replace(/\/+$/, '') === VENDOR_BASE_URLS[connector.kind]
      ? { mode: 'sandbox', standIn: connector.kind }
      : { mode: 'live', reason: 'base-url-given' };
  }
  return { mode: 'live', reason: 'no-stand-in' };
}

/** The "how to go live" hint of a sandboxed connector. */
function goLiveHint(connector: AnyConnectorConfig, variable: string | undefined): string {
  const secret = secretNameOf(connector);
  const baseUrl = variable
    ? `set ${variable} to its base URL`
    : `set its baseUrl in the suite file${connector.kind === 'http' ? ' (not httpbin.org)' : ''}`;
  return `${baseUrl}, or LIVE=1 (npm start -- --live) for every connector${
    secret ? `, with a real secret '${secret}' in local/secrets.json` : ''
  }`;
}

/**
 * Starts the stand-ins the suite's sandboxed connectors need (one of each, shared by the connectors
 * that use it) and answers the suite to serve with their base URLs.
 * @param config - the validated suite (`loadSuiteConfig`, loopback http allowed)
 * @throws the error of a stand-in that cannot listen (the ones already started are stopped first)
 */
export async function startSandbox(
  config: SuiteConfig<AnyConnectorConfig>,
  options: SandboxOptions = {},
): Promise<Sandbox> {
  const env = options.env ?? process.env;
  const live = options.live ?? isLiveRequested(env, options.argv);
  const variables = options.baseUrlVariables ?? DEFAULT_BASE_URL_VARIABLES;
  const decisions = config.connectors.map((connector) => {
    const variable = Object.hasOwn(variables, connector.name) ? variables[connector.name] : undefined;
    const baseUrlGiven = variable !== undefined && (env[variable] ?? '') !== '';
    return {
      connector,
      decision: decideConnectorMode(connector, { live, baseUrlGiven, echoOrigins: options.echoOrigins }),
    };
  });

  const standIns: Partial<Record<StandInName, VendorMock>> = {};
  const close = async () => {
    await Promise.all(Object.values(standIns).map((standIn) => standIn?.close()));
  };
  try {
    for (const { decision } of decisions) {
      if (decision.mode !== 'sandbox' || standIns[decision.standIn]) continue;
      standIns[decision.standIn] =
        decision.standIn === 'echo' ? await startEchoStandIn() : await VENDOR_MOCKS[decision.standIn]();
    }
  } catch (error) {
    await close();
    throw error;
  }

  const sandboxedSecrets = new Set<string>();
  const liveSecrets = new Set<string>();
  const connectors: ConnectorModeReport[] = [];
  const served = decisions.map(({ connector, decision }) => {
    // Its own secret and its webhook's signing secrets (docs/webhooks.md) follow the connector's mode.
    const secrets = [secretNameOf(connector), webhookOf(connector)?.secret].filter((s) => s !== undefined);
    if (decision.mode === 'live') {
      for (const secret of secrets) liveSecrets.add(secret);
      connectors.push({
        name: connector.name,
        kind: connector.kind,
        mode: 'live',
        baseUrl: connector.baseUrl,
        reason: decision.reason,
      });
      return connector;
    }
    for (const secret of secrets) sandboxedSecrets.add(secret);
    const baseUrl = (standIns[decision.standIn] as VendorMock).url;
    connectors.push({
      name: connector.name,
      kind: connector.kind,
      mode: 'sandbox',
      baseUrl,
      standIn: decision.standIn,
      goLive: goLiveHint(connector, variables[connector.name]),
    });
    return { ...connector, baseUrl } as AnyConnectorConfig;
  });

  const examples = new LocalFileCredentialStore(options.exampleSecretsFile ?? EXAMPLE_SECRETS_FILE);
  return {
    config: { ...config, connectors: served },
    connectors,
    standIns,
    credentials: (store) => ({
      getSecret: (name, getOptions) =>
        sandboxedSecrets.has(name) && !liveSecrets.has(name)
          ? examples.getSecret(name, getOptions)
          : store.getSecret(name, getOptions),
    }),
    close,
  };
}
