/**
 * One connector: its Lambda function (bundled locally by esbuild), log group, role and grants. Its
 * asynchronous path (queues, rule, mapping) is a {@link ConnectorEvents} on this function.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import {
  type BundlingOptions,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { writeOpenApiLambdaEntry } from '../../functions/openapi/lambda-entry.js';
import {
  type AnyConnectorConfig,
  ConfigValidationError,
  clientAuthOf,
  type OpenApiConnectorConfig,
} from '../../functions/shared/config.js';
import { ENV } from '../../functions/shared/runtime/environment.js';
import type { ConnectorEvents } from './connector-events.js';

/**
 * The ESM banner the bundle needs: the X-Ray SDK (through Powertools Tracer) and other CommonJS
 * dependencies call `require`, which an ES module lacks.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __connectorSuiteCreateRequire } from 'node:module'; const require = __connectorSuiteCreateRequire(import.meta.url);";

/**
 * How every connector's handler is bundled: by the local esbuild, as one minified ES module for
 * Node.js 24 (`index.mjs`).
 *
 * - `@aws-sdk/*` stays out of the bundle and is loaded from the AWS SDK v3 that the Lambda
 *   `nodejs24.x` runtime ships (CDK's default, made explicit here so that a CDK feature flag cannot
 *   change it silently). Bundled, the SDK adds about 440 KB to each bundle; taken from the runtime,
 *   only the clients a path needs are loaded (SQS and EventBridge on first use). The cost is version
 *   drift: the functions run the runtime's SDK version, not `package-lock.json`'s, as Powertools
 *   (idempotency's DynamoDB layer) does too; both use stable v3 APIs only.
 * - Source maps are written without the sources (`sourcesContent: false`) and are not enabled at run
 *   time (no `--enable-source-maps`): Node reads and parses the whole map at load, which cost a cold
 *   start 10 % (`http`) to 35 % (`stripe`) of CPU. A minified stack trace maps back offline with the
 *   `.map` file of the asset. {@link ConnectorProps.enableSourceMaps} turns them on.
 * - `mainFields: ['module', 'main']` picks packages' ES builds, which esbuild can tree-shake.
 *
 * Bundle sizes and cold starts are measured by `npm run bench` (docs/performance.md).
 */
export const CONNECTOR_BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/*'],
  banner: ESM_REQUIRE_BANNER,
  forceDockerBundling: false,
} as const satisfies BundlingOptions;

/**
 * {@link CONNECTOR_BUNDLING} with `overrides` applied over it, as a function's `bundling` prop takes
 * it (its arrays copied, since the constant is read-only).
 */
export function connectorBundling(overrides: BundlingOptions = {}): BundlingOptions {
  return {
    ...CONNECTOR_BUNDLING,
    mainFields: [...CONNECTOR_BUNDLING.mainFields],
    externalModules: [...CONNECTOR_BUNDLING.externalModules],
    ...overrides,
  };
}

/**
 * The most bytes a connector's `CONNECTOR_CONFIG` may take: Lambda allows 4 KB (4,096 bytes) for all
 * of a function's environment variables together (Lambda quotas), and the others (the table's name,
 * the secret's ARN, the queues' URLs, the bus, the Powertools settings) take up to about 1 KB.
 */
export const MAX_CONNECTOR_CONFIG_BYTES = 3_072;

/** Props of {@link Connector}. */
export interface ConnectorProps {
  /** The connector's validated config entry; its non-secret settings become `CONNECTOR_CONFIG`. */
  readonly config: AnyConnectorConfig;
  /**
   * Absolute path of the handler file of the connector's kind, e.g. `functions/http/handler.ts`.
   * An `openapi` connector ignores it: its entry is generated at synth time under the project root
   * (`node_modules/.cache/connector-suite/openapi/`), with the trimmed description and the
   * validators compiled into standalone code (functions/openapi/lambda-entry.ts).
   */
  readonly entry: string;
  /** The idempotency table; the function may only get, put, update and delete items in it. */
  readonly idempotencyTable: ITable;
  /**
   * The connector's secret; the function may only `GetSecretValue` on it.
   * @default none (for `auth.type: none`)
   */
  readonly secret?: ISecret;
  /**
   * The id the runtime reads the secret by (an ARN, or a name for a secret imported by name).
   * @default `secret.secretArn`
   */
  readonly secretId?: string;
  /**
   * CloudWatch metrics namespace (`POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'ConnectorSuite'
   */
  readonly metricsNamespace?: string;
  /**
   * Retention of the function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Run the function with `NODE_OPTIONS=--enable-source-maps`, so that stack traces in its logs name
   * the TypeScript sources. It costs every cold start the parsing of the bundle's whole source map
   * (10 % to 35 % more CPU, measured on the five kinds); the sources themselves are left out of the
   * map (see {@link CONNECTOR_BUNDLING}), so traces name files and lines only.
   * @default false
   */
  readonly enableSourceMaps?: boolean;
  /**
   * The root of the CDK app that bundles the function: esbuild runs there, and the entry and the
   * lock file must be under it (`NodejsFunctionProps.projectRoot`). It can also be given as
   * `functionProps.projectRoot`.
   * @default the directory of the lock file (`package-lock.json`, `yarn.lock`, `pnpm-lock.yaml`,
   *   `bun.lock`) nearest up from `process.cwd()`, as `NodejsFunction` finds it: the app's root
   */
  readonly projectRoot?: string;
  /**
   * Overrides of the function's props, applied over the defaults above (memory size and timeout
   * from the config, Node.js 24 on arm64, tracing, JSON logs, {@link CONNECTOR_BUNDLING}). The
   * `environment` and `bundling` given here are merged into the defaults; the variables the runtime
   * reads (`CONNECTOR_CONFIG`, `IDEMPOTENCY_TABLE_NAME`, `CONNECTOR_SECRET_ID`, the Powertools ones)
   * and `entry`, `handler` and `role` cannot be overridden.
   * @default none
   */
  readonly functionProps?: Partial<NodejsFunctionProps>;
}

/** The lock files `NodejsFunction` looks for to find the project root. */
const LOCK_FILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'];

/** The directory of the lock file nearest up from `from`, as `NodejsFunction` finds the project root; `from` when none. */
function projectRootFrom(from: string): string {
  for (let directory = path.resolve(from); ; directory = path.dirname(directory)) {
    if (LOCK_FILES.some((file) => existsSync(path.join(directory, file)))) return directory;
    if (path.dirname(directory) === directory) return path.resolve(from);
  }
}

/**
 * A connector's Lambda function: Node.js 24 on arm64, bundled locally by esbuild as minified ESM
 * ({@link CONNECTOR_BUNDLING}: the AWS SDK from the runtime, source maps off at run time unless
 * `enableSourceMaps`), X-Ray tracing active, JSON logs into its own log group,
 * and a role that may write those logs, read its own secret and use the idempotency table (its
 * {@link ConnectorEvents} adds its queues and the bus), nothing more.
 *
 * @throws ConfigValidationError when the connector's config is larger than
 *   {@link MAX_CONNECTOR_CONFIG_BYTES} in `CONNECTOR_CONFIG` (Lambda's 4 KB environment limit)
 */
export class Connector extends Construct {
  /** The function. */
  readonly function: NodejsFunction;
  /** Its log group. */
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ConnectorProps) {
    super(scope, id);
    const { config } = props;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Connector ${config.name}: its logs, its secret, the idempotency table, its queues and the event bus`,
    });
    this.logGroup.grantWrite(role);

    const overrides = props.functionProps ?? {};
    const projectRoot = props.projectRoot ?? overrides.projectRoot;
    // An openapi connector's entry is generated now, its validators compiled, its description in
    // the bundle; CONNECTOR_CONFIG names the description by digest.
    const generated =
      config.kind === 'openapi'
        ? writeOpenApiLambdaEntry(config as OpenApiConnectorConfig, {
            // Where NodejsFunction will run esbuild: the entry must lie under it.
            projectRoot:
              projectRoot ??
              (overrides.depsLockFilePath
                ? path.dirname(path.resolve(overrides.depsLockFilePath))
                : projectRootFrom(process.cwd())),
          })
        : undefined;
    const configJson = JSON.stringify(generated?.config ?? config);
    const configBytes = Buffer.byteLength(configJson, 'utf8');
    if (configBytes > MAX_CONNECTOR_CONFIG_BYTES) {
      throw new ConfigValidationError(`connector '${config.name}'`, [
        `its configuration is ${configBytes} bytes in CONNECTOR_CONFIG, more than the ${MAX_CONNECTOR_CONFIG_BYTES} this construct allows: Lambda refuses a function whose environment variables exceed 4 KB in all`,
      ]);
    }
    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: config.name,
      POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'ConnectorSuite',
      [ENV.connectorConfig]: configJson,
      [ENV.idempotencyTable]: props.idempotencyTable.tableName,
    };
    if (props.enableSourceMaps) environment.NODE_OPTIONS = '--enable-source-maps';
    const secretId = props.secretId ?? props.secret?.secretArn;
    if (secretId) environment[ENV.secretId] = secretId;

    this.function = new NodejsFunction(this, 'Function', {
      ...(props.projectRoot ? { projectRoot: props.projectRoot } : {}),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: config.memorySizeMb,
      timeout: Duration.seconds(config.functionTimeoutSeconds),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      description: `Connector ${config.name} (${config.kind})`,
      ...overrides,
      entry: generated?.entry ?? props.entry,
      handler: 'handler',
      role,
      environment: { ...overrides.environment, ...environment },
      bundling: connectorBundling(overrides.bundling),
    });

    if (props.secret) {
      // A secret known only by name or partial ARN: IAM matches the full ARN, which ends in `-` and six
      // random characters, so the policy names it with the `-??????` wildcard (as `grantRead` would).
      const secretResource = props.secret.secretFullArn ?? `${props.secret.secretArn}-??????`;
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secretResource],
        }),
      );
    }
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.idempotencyTable.tableArn],
      }),
    );
    const auth = clientAuthOf(config);
    if (auth.type === 'awsSigV4' && auth.roleArn !== undefined) {
      // The `awsSigV4` scheme signs with this role's credentials (docs/auth.md): that role only.
      role.addToPrincipalPolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['sts:AssumeRole'], resources: [auth.roleArn] }),
      );
    }

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the statement that tracing Active adds: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their Resource must be *; every other statement names its log group, secret, table, queues or event bus',
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        "API Gateway invokes this function synchronously and the caller receives every error, and so does the SQS event source mapping, whose failed messages go to the connector's dead-letter queue through the inbox; a function's dead-letter queue only receives failed asynchronous invocations, which this function never gets",
    });
  }
}
