/**
 * The Connector Suite stack, synthesized in-process with bundling skipped and read with
 * `aws-cdk-lib/assertions`: functions, routes, IAM, API stage, table, log groups, outputs, secrets,
 * stages, API keys, imported secrets, and config errors that fail synth naming the field.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigValidationError,
  type ConnectorConfig,
  parseSuiteConfig,
  resourceId,
  type SuiteConfig,
  secretNameOf,
  webhookOf,
} from '../../functions/shared/config.js';
import { readConnectorEnvironment } from '../../functions/shared/runtime/environment.js';
import {
  FIRST_SYNTH_TIMEOUT_MS,
  httpConnector,
  removeOutdirs,
  SUITES_UNDER_TEST,
  synthSuite,
  twoConnectorsConfig,
} from '../support/infra-helpers.js';
import {
  actionsOf,
  allStatements,
  apiMethods,
  type CfnTemplate,
  connectorFunction,
  connectorQueues,
  environmentOf,
  getAtt,
  getAttTarget,
  type IamStatement,
  literalStrings,
  ref,
  refTarget,
  resource,
  resourcesOf,
  resourcesOfType,
  roleOf,
  statementsOfRole,
} from '../support/infra-template.js';

afterAll(removeOutdirs);

const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const TABLE_ACTIONS = ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
/** What the SQS event source mapping needs on the inbox (SqsEventSource grants them to the function's role). */
const MAPPING_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

/** Orders statements by their resource, for order-free comparison. */
function byResource(a: { Resource?: unknown }, b: { Resource?: unknown }): number {
  return JSON.stringify(a.Resource).localeCompare(JSON.stringify(b.Resource));
}

/** A statement as `{effect, actions (sorted), resources}`, for order-free comparison. */
function normalized(statement: IamStatement): { effect: string; actions: string[]; resources: unknown[] } {
  return {
    effect: statement.Effect,
    actions: actionsOf(statement).sort(),
    resources: resourcesOf(statement),
  };
}

/** The only resource of a type in the template, as `[logicalId, resource]`. */
function single(json: CfnTemplate, type: string) {
  const found = resourcesOfType(json, type);
  expect(found, `resources of type ${type}`).toHaveLength(1);
  return found[0] as NonNullable<(typeof found)[number]>;
}

/** The logical id of the secret a connector's function reads (its `CONNECTOR_SECRET_ID`). */
function secretIdOf(json: CfnTemplate, name: string): string {
  const [, fn] = connectorFunction(json, name);
  return refTarget(environmentOf(fn).CONNECTOR_SECRET_ID);
}

/** An `Fn::Join` of strings and `{Ref}`s (or a plain string) rendered with `<Ref>` placeholders. */
function rendered(value: unknown): string {
  if (typeof value === 'string') return value;
  const target = (value as { Ref?: unknown }).Ref;
  if (typeof target === 'string') return `<${target}>`;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(rendered).join(join[0]);
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

function withAuthSecret(connector: ConnectorConfig): string | undefined {
  return secretNameOf(connector);
}

/** The webhook function (docs/webhooks.md) of a template, as `[logicalId, resource]`, if any. */
function webhookFunctions(json: CfnTemplate) {
  return resourcesOfType(json, 'AWS::Lambda::Function').filter(
    ([, fn]) => environmentOf(fn).WEBHOOK_ROUTES !== undefined,
  );
}

describe.for(SUITES_UNDER_TEST)('the stack of $label', ({ load }) => {
  let input: unknown;
  let suite: SuiteConfig;

  beforeAll(async () => {
    input = await load();
    suite = parseSuiteConfig(input, 'test suite config');
    // Synthesized once here (memoized): every test below reads this template.
    synthSuite(input);
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('has one Lambda function per connector: nodejs24.x on arm64, tracing Active, sized from its config', () => {
    // Prepare
    const connectors = suite.connectors;
    const webhooks = connectors.some((c) => webhookOf(c) !== undefined) ? 1 : 0;

    // Act
    const { json, template } = synthSuite(input);

    // Assess
    expect(connectors.length).toBeGreaterThan(0);
    // And one function for every webhook route, when a connector has a webhook (webhooks.test.ts).
    template.resourceCountIs('AWS::Lambda::Function', connectors.length + webhooks);
    expect(webhookFunctions(json)).toHaveLength(webhooks);
    for (const connector of connectors) {
      const [, fn] = connectorFunction(json, connector.name);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        MemorySize: connector.memorySizeMb,
        Timeout: connector.functionTimeoutSeconds,
        LoggingConfig: { LogFormat: 'JSON' },
      });
    }
  });

  it('routes POST /v1/connectors/{name}/{operation} of each connector to its function, with AWS_IAM', () => {
    // Prepare
    const names = suite.connectors.map((c) => c.name);

    // Act
    const { json } = synthSuite(input);

    // Assess
    const methods = apiMethods(json).filter((m) => !m.path.startsWith('/v1/webhooks/'));
    expect(methods.map((m) => `${m.httpMethod} ${m.path}`).sort()).toEqual(
      names.map((name) => `POST /v1/connectors/${name}/{operation}`).sort(),
    );
    for (const name of names) {
      const [functionId] = connectorFunction(json, name);
      const method = methods.find((m) => m.path === `/v1/connectors/${name}/{operation}`);
      expect(method?.properties).toMatchObject({
        AuthorizationType: 'AWS_IAM',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(JSON.stringify(method?.properties.Integration)).toContain(
        JSON.stringify(getAtt(functionId, 'Arn')),
      );
    }
  });

  it('requires AWS_IAM on every API method (OPTIONS aside) but the webhook route, which the signature guards', () => {
    // Prepare
    const expectedMethods = suite.connectors.length;
    const webhookRoute = suite.connectors.some((c) => webhookOf(c) !== undefined);

    // Act
    const { json } = synthSuite(input);

    // Assess
    const all = apiMethods(json).filter((m) => m.httpMethod !== 'OPTIONS');
    const unsigned = all.filter((m) => m.path === '/v1/webhooks/{connector}');
    expect(unsigned.map((m) => `${m.httpMethod} ${m.properties.AuthorizationType}`)).toEqual(
      webhookRoute ? ['POST NONE'] : [],
    );
    const methods = all.filter((m) => !unsigned.includes(m));
    expect(methods).toHaveLength(expectedMethods);
    for (const method of methods) {
      expect(method.properties.AuthorizationType, `${method.httpMethod} ${method.path}`).toBe('AWS_IAM');
      expect(method.properties.ApiKeyRequired, `${method.httpMethod} ${method.path}`).toBeUndefined();
    }
  });

  it('lets only API Gateway invoke each function, and only through its own route', () => {
    // Prepare
    const names = suite.connectors.map((c) => c.name);

    // Act
    const { json } = synthSuite(input);

    // Assess
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission');
    for (const name of names) {
      const [functionId] = connectorFunction(json, name);
      const own = permissions.filter(
        ([, p]) => getAttTarget(p.Properties.FunctionName, 'Arn') === functionId,
      );
      expect(own.length).toBeGreaterThan(0);
      for (const [, permission] of own) {
        expect(permission.Properties).toMatchObject({
          Action: 'lambda:InvokeFunction',
          Principal: 'apigateway.amazonaws.com',
        });
        expect(literalStrings(permission.Properties.SourceArn).join('')).toMatch(
          new RegExp(`/POST/v1/connectors/${name}/\\*$`),
        );
      }
    }
    expect(permissions.every(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com')).toBe(true);
  });

  it("gives each function's role GetSecretValue on exactly its own secret and no other connector's", () => {
    // Prepare
    const withSecret = suite.connectors.filter((c) => withAuthSecret(c) !== undefined);

    // Act
    const { json } = synthSuite(input);

    // Assess
    expect(withSecret.length).toBeGreaterThan(0);
    for (const connector of withSecret) {
      const [, fn] = connectorFunction(json, connector.name);
      const secretId = secretIdOf(json, connector.name);
      expect(resource(json, secretId).Type).toBe('AWS::SecretsManager::Secret');
      expect(String(resource(json, secretId).Properties.Description)).toContain(
        `'${withAuthSecret(connector)}'`,
      );
      const statements = statementsOfRole(json, roleOf(fn));
      const secretStatements = statements.filter((s) =>
        actionsOf(s).some((a) => a.startsWith('secretsmanager:')),
      );
      expect(secretStatements.map(normalized)).toEqual([
        { effect: 'Allow', actions: ['secretsmanager:GetSecretValue'], resources: [ref(secretId)] },
      ]);
      const others = withSecret
        .filter((c) => withAuthSecret(c) !== withAuthSecret(connector))
        .map((c) => secretIdOf(json, c.name));
      for (const other of others) expect(JSON.stringify(statements)).not.toContain(other);
    }
  });

  it('allows each role nothing but its own log group, X-Ray, its secret, item access to the table, its queues and the bus', () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const [tableId] = single(json, 'AWS::DynamoDB::Table');
    const [busId] = single(json, 'AWS::Events::EventBus');
    for (const connector of connectors) {
      const [, fn] = connectorFunction(json, connector.name);
      const roleId = roleOf(fn);
      const logGroupId = refTarget((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
      expect(resource(json, logGroupId).Type).toBe('AWS::Logs::LogGroup');
      const { inboxId, deadLetterQueueId } = connectorQueues(json, connector.name);
      const expected = [
        {
          effect: 'Allow',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [getAtt(logGroupId, 'Arn')],
        },
        { effect: 'Allow', actions: XRAY_ACTIONS, resources: ['*'] },
        { effect: 'Allow', actions: TABLE_ACTIONS, resources: [getAtt(tableId, 'Arn')] },
        // The asynchronous path (test/infra/async.test.ts has the details).
        { effect: 'Allow', actions: MAPPING_ACTIONS, resources: [getAtt(inboxId, 'Arn')] },
        {
          effect: 'Allow',
          actions: ['sqs:ChangeMessageVisibility', 'sqs:SendMessage'],
          resources: [getAtt(inboxId, 'Arn')],
        },
        { effect: 'Allow', actions: ['sqs:SendMessage'], resources: [getAtt(deadLetterQueueId, 'Arn')] },
        ...(connector.async.resultEvents
          ? [{ effect: 'Allow', actions: ['events:PutEvents'], resources: [getAtt(busId, 'Arn')] }]
          : []),
        ...(withAuthSecret(connector) === undefined
          ? []
          : [
              {
                effect: 'Allow',
                actions: ['secretsmanager:GetSecretValue'],
                resources: [ref(secretIdOf(json, connector.name))],
              },
            ]),
      ];
      const statements = statementsOfRole(json, roleId).map(normalized);
      expect(statements).toHaveLength(expected.length);
      expect(statements).toEqual(expect.arrayContaining(expected));
      const role = resource(json, roleId).Properties;
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.AssumeRolePolicyDocument).toMatchObject({
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      });
    }
  });

  it('grants no IAM action containing *, anywhere in the template', () => {
    // Prepare
    const isWildcard = (action: string) => action.includes('*');

    // Act
    const { json } = synthSuite(input);

    // Assess
    const statements = allStatements(json);
    expect(statements.length).toBeGreaterThan(0);
    const offending = statements.filter(
      ({ statement }) =>
        statement.Effect === 'Allow' &&
        (actionsOf(statement).some(isWildcard) || statement.NotAction !== undefined),
    );
    expect(offending).toEqual([]);
  });

  it("denies only one thing, on each queue: any sqs:* request that is not TLS (the queues' enforceSSL)", () => {
    // Prepare
    const queueCount = 2 * suite.connectors.length;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const queueIds = resourcesOfType(json, 'AWS::SQS::Queue').map(([id]) => id);
    const denies = allStatements(json).filter(({ statement }) => statement.Effect === 'Deny');
    expect(queueIds).toHaveLength(queueCount);
    expect(denies.map(({ statement }) => statement).sort(byResource)).toEqual(
      queueIds
        .map((id) => ({
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: getAtt(id, 'Arn'),
        }))
        .sort(byResource),
    );
  });

  it('uses * resources only in the X-Ray statements tracing needs, one per connector role', () => {
    // Prepare
    const names = suite.connectors.map((c) => c.name);

    // Act
    const { json } = synthSuite(input);

    // Assess
    const connectorRoles = new Set([
      ...names.map((name) => roleOf(connectorFunction(json, name)[1])),
      // The webhook function is traced too.
      ...webhookFunctions(json).map(([, fn]) => roleOf(fn)),
    ]);
    const starred = allStatements(json).filter(
      ({ statement }) =>
        statement.NotResource !== undefined ||
        resourcesOf(statement).some((r) => literalStrings(r).some((s) => s.includes('*'))),
    );
    expect(starred.map(({ statement }) => normalized(statement))).toEqual(
      [...connectorRoles].map(() => ({ effect: 'Allow', actions: XRAY_ACTIONS, resources: ['*'] })),
    );
    const policyRoles = starred.map(({ logicalId }) => refTarget(asRoles(json, logicalId)[0]));
    expect(new Set(policyRoles)).toEqual(connectorRoles);
  });

  it('gives each function its config, table, secret id and Powertools settings, and no secret values', () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const [tableId] = single(json, 'AWS::DynamoDB::Table');
    for (const connector of connectors) {
      const [, fn] = connectorFunction(json, connector.name);
      const env = environmentOf(fn);
      const hasSecret = withAuthSecret(connector) !== undefined;
      expect(Object.keys(env).sort()).toEqual(
        [
          'CONNECTOR_CONFIG',
          ...(hasSecret ? ['CONNECTOR_SECRET_ID'] : []),
          'IDEMPOTENCY_TABLE_NAME',
          'POWERTOOLS_METRICS_NAMESPACE',
          'POWERTOOLS_SERVICE_NAME',
          // The asynchronous path (test/infra/async.test.ts has the details).
          'INBOX_QUEUE_URL',
          'DEAD_LETTER_QUEUE_URL',
          ...(connector.async.resultEvents ? ['EVENT_BUS_NAME'] : []),
        ].sort(),
      );
      expect(JSON.parse(String(env.CONNECTOR_CONFIG))).toEqual(connector);
      expect(env.IDEMPOTENCY_TABLE_NAME).toEqual(ref(tableId));
      if (hasSecret) expect(env.CONNECTOR_SECRET_ID).toEqual(ref(secretIdOf(json, connector.name)));
      expect(env.POWERTOOLS_SERVICE_NAME).toBe(connector.name);
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('ConnectorSuite');
      // Source maps stay off at run time: parsing the map cost every cold start (CONNECTOR_BUNDLING).
      expect(env.NODE_OPTIONS).toBeUndefined();
      expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString|\{\{resolve/);
    }
  });

  it("gives each function an environment the connector runtime's own reader accepts", () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    for (const connector of connectors) {
      const env = environmentOf(connectorFunction(json, connector.name)[1]);
      // References resolve at deploy time; stand in a placeholder for each.
      const deployed = Object.fromEntries(
        Object.entries(env).map(([name, value]) => [name, typeof value === 'string' ? value : `<${name}>`]),
      );
      const read = readConnectorEnvironment(deployed);
      expect(read.config).toEqual(connector);
      expect(read.idempotencyTableName).toBe('<IDEMPOTENCY_TABLE_NAME>');
      const secret = withAuthSecret(connector);
      expect(read.secretIds).toEqual(secret === undefined ? {} : { [secret]: '<CONNECTOR_SECRET_ID>' });
      expect(read.queues).toEqual({ inbox: '<INBOX_QUEUE_URL>', deadLetter: '<DEAD_LETTER_QUEUE_URL>' });
      expect(read.eventBusName).toBe(connector.async.resultEvents ? '<EVENT_BUS_NAME>' : undefined);
    }
  });

  it('traces the API stage, logs access as JSON with the request id, logs execution at ERROR, throttles from config', () => {
    // Prepare
    const { throttlingRateLimit, throttlingBurstLimit } = suite.api;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const [, stage] = single(json, 'AWS::ApiGateway::Stage');
    expect(stage.Properties.StageName).toBe('dev');
    expect(stage.Properties.TracingEnabled).toBe(true);
    const accessLog = stage.Properties.AccessLogSetting as { DestinationArn: unknown; Format: string };
    // The log group's ARN built from its name, without `:*` (cdk.json: logGroupDestinationArnWithoutWildcard).
    const [, arnParts] = (accessLog.DestinationArn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    expect(resource(json, refTarget(arnParts.at(-1))).Type).toBe('AWS::Logs::LogGroup');
    const format = JSON.parse(accessLog.Format) as Record<string, string>;
    expect(format.requestId).toBe('$context.requestId');
    expect(Object.values(format)).toEqual(
      expect.arrayContaining(['$context.status', '$context.httpMethod', '$context.resourcePath']),
    );
    expect(stage.Properties.MethodSettings).toEqual([
      {
        HttpMethod: '*',
        ResourcePath: '/*',
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        MetricsEnabled: true,
        ThrottlingRateLimit: throttlingRateLimit,
        ThrottlingBurstLimit: throttlingBurstLimit,
      },
    ]);
  });

  it('has one idempotency table: key id (HASH), TTL on expiration, PITR, encryption, on-demand', () => {
    // Prepare
    const expectedKey = [{ AttributeName: 'id', KeyType: 'HASH' }];

    // Act
    const { json } = synthSuite(input);

    // Assess
    const [, table] = single(json, 'AWS::DynamoDB::Table');
    expect(table.Properties.KeySchema).toEqual(expectedKey);
    expect(table.Properties.AttributeDefinitions).toEqual([{ AttributeName: 'id', AttributeType: 'S' }]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('outputs the API URL and, per connector, its function name and secret name', () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const [apiId] = single(json, 'AWS::ApiGateway::RestApi');
    const [stageId] = single(json, 'AWS::ApiGateway::Stage');
    expect(rendered(json.Outputs?.ApiUrl?.Value)).toBe(
      `https://<${apiId}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/<${stageId}>/`,
    );
    for (const connector of connectors) {
      const [functionId] = connectorFunction(json, connector.name);
      const prefix = resourceId(connector.name);
      expect(json.Outputs?.[`${prefix}FunctionName`]?.Value).toEqual(ref(functionId));
      const secretName = json.Outputs?.[`${prefix}SecretName`]?.Value;
      if (withAuthSecret(connector) === undefined) expect(secretName).toBeUndefined();
      else
        expect(JSON.stringify(secretName)).toContain(JSON.stringify(ref(secretIdOf(json, connector.name))));
    }
  });

  it('hard-codes no physical names, so stages and copies deploy side by side', () => {
    // Prepare
    const nameProperties: Record<string, string> = {
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::SecretsManager::Secret': 'Name',
      'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::Events::Rule': 'Name',
      'AWS::CloudWatch::Alarm': 'AlarmName',
    };

    // Act
    const { json } = synthSuite(input);

    // Assess
    const named = Object.entries(json.Resources)
      .filter(
        ([, r]) =>
          nameProperties[r.Type] !== undefined && r.Properties[nameProperties[r.Type] ?? ''] !== undefined,
      )
      .map(([logicalId]) => logicalId);
    expect(named).toEqual([]);
  });

  it("creates each secret holding '{}' only: no secret value in the template", () => {
    // Prepare
    const secretNames = new Set(
      suite.connectors
        .flatMap((c) => [withAuthSecret(c), webhookOf(c)?.secret])
        .filter((s) => s !== undefined),
    );

    // Act
    const { json } = synthSuite(input);

    // Assess
    const secrets = resourcesOfType(json, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(secretNames.size);
    for (const [, secret] of secrets) {
      expect(secret.Properties.SecretString).toBe('{}');
      expect(secret.Properties.GenerateSecretString).toBeUndefined();
    }
    expect(JSON.stringify(json)).not.toContain('{{resolve:secretsmanager');
  });
});

/** The `Roles` of the `AWS::IAM::Policy` holding a statement. */
function asRoles(json: CfnTemplate, policyId: string): unknown[] {
  const policy = resource(json, policyId);
  expect(policy.Type).toBe('AWS::IAM::Policy');
  return policy.Properties.Roles as unknown[];
}

describe('the stack of a SUITE_CONFIG-style JSON config with two http connectors', () => {
  it('has two functions, two secrets and two routes, one of each per connector', () => {
    // Prepare
    const config = twoConnectorsConfig();

    // Act
    const { json, template } = synthSuite(config);

    // Assess
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    expect(
      apiMethods(json)
        .map((m) => `${m.httpMethod} ${m.path}`)
        .sort(),
    ).toEqual(['POST /v1/connectors/crm/{operation}', 'POST /v1/connectors/payments/{operation}']);
    const paymentsSecret = secretIdOf(json, 'payments');
    const crmSecret = secretIdOf(json, 'crm');
    expect(paymentsSecret).not.toBe(crmSecret);
    expect(String(resource(json, paymentsSecret).Properties.Description)).toContain("'payments-api-key'");
    expect(String(resource(json, crmSecret).Properties.Description)).toContain("'crm-oauth'");
  });

  it('lets payments read only the payments secret, and crm only the crm secret', () => {
    // Prepare
    const config = twoConnectorsConfig();

    // Act
    const { json } = synthSuite(config);

    // Assess
    const paymentsSecret = secretIdOf(json, 'payments');
    const crmSecret = secretIdOf(json, 'crm');
    const secretResources = (name: string) =>
      statementsOfRole(json, roleOf(connectorFunction(json, name)[1]))
        .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
        .flatMap(resourcesOf);
    expect(secretResources('payments')).toEqual([ref(paymentsSecret)]);
    expect(secretResources('crm')).toEqual([ref(crmSecret)]);
  });

  it("throttles the API stage with the config's api settings and sizes the functions from theirs", () => {
    // Prepare
    const config = twoConnectorsConfig();

    // Act
    const { json } = synthSuite(config);

    // Assess
    const [, stage] = single(json, 'AWS::ApiGateway::Stage');
    expect(stage.Properties.MethodSettings).toMatchObject([
      { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
    ]);
    expect(connectorFunction(json, 'payments')[1].Properties).toMatchObject({ MemorySize: 256, Timeout: 20 });
    expect(connectorFunction(json, 'crm')[1].Properties).toMatchObject({ MemorySize: 512, Timeout: 29 });
  });

  it('puts the exact validated connector entry, defaults applied, in CONNECTOR_CONFIG', () => {
    // Prepare
    const config = twoConnectorsConfig();
    const crm = parseSuiteConfig(config, 'fixture').connectors.find((c) => c.name === 'crm');

    // Act
    const { json } = synthSuite(config);

    // Assess
    const env = environmentOf(connectorFunction(json, 'crm')[1]);
    expect(env.CONNECTOR_CONFIG).toBe(JSON.stringify(crm));
    expect(JSON.parse(String(env.CONNECTOR_CONFIG))).toMatchObject({
      auth: { type: 'oauth2ClientCredentials', secret: 'crm-oauth', clientAuthentication: 'basic' },
      cacheTtlSeconds: 30,
      retry: { maxAttempts: 3 },
    });
  });
});

describe.for([
  { stage: 'dev', retentionInDays: 7, removal: 'Delete', deletionProtection: false },
  { stage: 'prod', retentionInDays: 90, removal: 'Retain', deletionProtection: true },
] as const)('the $stage stage', ({ stage, retentionInDays, removal, deletionProtection }) => {
  beforeAll(() => {
    synthSuite(twoConnectorsConfig(), { stage });
  }, FIRST_SYNTH_TIMEOUT_MS);

  it(`keeps every log group ${retentionInDays} days and removal policy ${removal}`, () => {
    // Prepare
    const config = twoConnectorsConfig();

    // Act
    const { json } = synthSuite(config, { stage });

    // Assess
    const logGroups = resourcesOfType(json, 'AWS::Logs::LogGroup');
    expect(logGroups).toHaveLength(3); // one per connector and the API's access logs
    for (const [, logGroup] of logGroups) {
      expect(logGroup.Properties.RetentionInDays).toBe(retentionInDays);
      expect(logGroup.DeletionPolicy).toBe(removal);
      expect(logGroup.UpdateReplacePolicy).toBe(removal);
    }
  });

  it(`gives the table and the secrets removal policy ${removal}`, () => {
    // Prepare
    const config = twoConnectorsConfig();

    // Act
    const { json } = synthSuite(config, { stage });

    // Assess
    const [, table] = single(json, 'AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe(removal);
    expect(table.UpdateReplacePolicy).toBe(removal);
    expect(table.Properties.DeletionProtectionEnabled).toBe(deletionProtection);
    const secrets = resourcesOfType(json, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(2);
    for (const [, secret] of secrets) expect(secret.DeletionPolicy).toBe(removal);
  });

  it(`names the API stage ${stage}, traced`, () => {
    // Prepare
    const config = twoConnectorsConfig();

    // Act
    const { json } = synthSuite(config, { stage });

    // Assess
    const [, apiStage] = single(json, 'AWS::ApiGateway::Stage');
    expect(apiStage.Properties).toMatchObject({ StageName: stage, TracingEnabled: true });
    expect(apiStage.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'stage', Value: stage }]));
  });
});

describe("api.authorization 'apiKey'", () => {
  const config = {
    ...twoConnectorsConfig(),
    api: { authorization: 'apiKey', throttlingRateLimit: 25, throttlingBurstLimit: 50 },
  };

  beforeAll(() => {
    synthSuite(config);
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('requires an API key on every method and AWS_IAM on none', () => {
    // Prepare
    const expectedMethods = 2;

    // Act
    const { json } = synthSuite(config);

    // Assess
    const methods = apiMethods(json).filter((m) => m.httpMethod !== 'OPTIONS');
    expect(methods).toHaveLength(expectedMethods);
    for (const method of methods) {
      expect(method.properties).toMatchObject({ ApiKeyRequired: true, AuthorizationType: 'NONE' });
    }
    expect(JSON.stringify(json)).not.toContain('AWS_IAM');
    expect(single(json, 'AWS::ApiGateway::RestApi')[1].Properties.ApiKeySourceType).toBe('HEADER');
  });

  it('has a usage plan on the stage, throttled from config, and one API key in it', () => {
    // Prepare
    const expectedThrottle = { RateLimit: 25, BurstLimit: 50 };

    // Act
    const { json } = synthSuite(config);

    // Assess
    const [apiId] = single(json, 'AWS::ApiGateway::RestApi');
    const [stageId] = single(json, 'AWS::ApiGateway::Stage');
    const [planId, plan] = single(json, 'AWS::ApiGateway::UsagePlan');
    const [keyId, key] = single(json, 'AWS::ApiGateway::ApiKey');
    const [, planKey] = single(json, 'AWS::ApiGateway::UsagePlanKey');
    expect(plan.Properties.Throttle).toEqual(expectedThrottle);
    expect(plan.Properties.ApiStages).toMatchObject([{ ApiId: ref(apiId), Stage: ref(stageId) }]);
    expect(key.Properties.Enabled).toBe(true);
    expect(key.Properties.Value).toBeUndefined(); // generated by API Gateway, never in the template
    expect(planKey.Properties).toEqual({ KeyId: ref(keyId), KeyType: 'API_KEY', UsagePlanId: ref(planId) });
  });
});

describe('secrets listed in `secrets`', () => {
  const COMPLETE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/complete-AbC123';
  const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/partial';
  const config = {
    connectors: [
      httpConnector('by-complete-arn', { auth: { type: 'bearer', secret: 'complete' } }),
      httpConnector('by-partial-arn', { auth: { type: 'basic', secret: 'partial' } }),
      httpConnector('by-name', { auth: { type: 'bearer', secret: 'named' } }),
    ],
    secrets: {
      complete: { arn: COMPLETE_ARN },
      partial: { arn: PARTIAL_ARN },
      named: { name: 'team/named' },
    },
  };

  beforeAll(() => {
    synthSuite(config);
  }, FIRST_SYNTH_TIMEOUT_MS);

  /** The resource of the GetSecretValue statement of a connector's role, rendered. */
  function secretResource(json: CfnTemplate, name: string): string[] {
    return statementsOfRole(json, roleOf(connectorFunction(json, name)[1]))
      .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
      .flatMap(resourcesOf)
      .map(rendered);
  }

  it('are imported, not created', () => {
    // Prepare
    const imported = Object.keys(config.secrets);

    // Act
    const { template } = synthSuite(config);

    // Assess
    expect(imported).toHaveLength(3);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('by complete ARN: the policy names that ARN and the function reads it by that ARN', () => {
    // Prepare
    const name = 'by-complete-arn';

    // Act
    const { json } = synthSuite(config);

    // Assess
    expect(secretResource(json, name)).toEqual([COMPLETE_ARN]);
    expect(environmentOf(connectorFunction(json, name)[1]).CONNECTOR_SECRET_ID).toBe(COMPLETE_ARN);
  });

  it('by partial ARN: the policy names the ARN with the -?????? suffix Secrets Manager appends', () => {
    // Prepare
    const name = 'by-partial-arn';

    // Act
    const { json } = synthSuite(config);

    // Assess
    expect(secretResource(json, name)).toEqual([`${PARTIAL_ARN}-??????`]);
    expect(environmentOf(connectorFunction(json, name)[1]).CONNECTOR_SECRET_ID).toBe(PARTIAL_ARN);
  });

  it("by name: the policy names the stack's own account and region ARN of that name with the -?????? suffix", () => {
    // Prepare
    const name = 'by-name';

    // Act
    const { json } = synthSuite(config);

    // Assess
    expect(secretResource(json, name)).toEqual([
      'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:team/named-??????',
    ]);
    expect(environmentOf(connectorFunction(json, name)[1]).CONNECTOR_SECRET_ID).toBe('team/named');
  });
});

describe('secrets shared or absent', () => {
  it('creates one secret for two connectors naming the same auth.secret, readable by both', () => {
    // Prepare
    const config = {
      connectors: [
        httpConnector('first', { auth: { type: 'bearer', secret: 'shared' } }),
        httpConnector('second', { auth: { type: 'bearer', secret: 'shared' } }),
      ],
    };

    // Act
    const { json } = synthSuite(config);

    // Assess
    const [secretId] = single(json, 'AWS::SecretsManager::Secret');
    expect(secretIdOf(json, 'first')).toBe(secretId);
    expect(secretIdOf(json, 'second')).toBe(secretId);
  });

  it("gives a connector with auth 'none' no secret, no secret id, no Secrets Manager access", () => {
    // Prepare
    const config = { connectors: [httpConnector('public', { auth: { type: 'none' } })] };

    // Act
    const { json, template } = synthSuite(config);

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const [, fn] = connectorFunction(json, 'public');
    expect(environmentOf(fn).CONNECTOR_SECRET_ID).toBeUndefined();
    expect(JSON.stringify(statementsOfRole(json, roleOf(fn)))).not.toContain('secretsmanager');
    expect(json.Outputs?.PublicSecretName).toBeUndefined();
    expect(json.Outputs?.PublicFunctionName).toBeDefined();
  });
});

describe('a config error fails synth with a message naming the field', () => {
  it.for([
    {
      problem: 'an unknown kind',
      connectors: [httpConnector('vendor', { kind: 'soap' })],
      field: 'connectors[0].kind',
    },
    {
      problem: 'a baseUrl that is not https',
      connectors: [httpConnector('vendor', { baseUrl: 'http://api.example.com' })],
      field: 'connectors[0].baseUrl',
    },
    {
      problem: 'a duplicate connector name',
      connectors: [httpConnector('vendor'), httpConnector('vendor')],
      field: 'connectors[1].name',
    },
  ])('$problem', ({ connectors, field }) => {
    // Prepare
    const config = { connectors };

    // Act
    const synth = () => synthSuite(config);

    // Assess
    expect(synth).toThrow(ConfigValidationError);
    expect(synth).toThrow(new RegExp(`^\\s+- ${field.replace(/[[\].]/g, '\\$&')}: `, 'm'));
  });

  it('the default suite.config.ts with HTTPBIN_URL on loopback http (npm start only) names connectors[0].baseUrl', async () => {
    // Prepare
    vi.stubEnv('HTTPBIN_URL', 'http://127.0.0.1:8080');
    vi.resetModules();
    const input = (await import('../../suite.config.js')).default;

    // Act
    const synth = () => synthSuite(input);

    // Assess
    expect(synth).toThrow(/connectors\[0\]\.baseUrl: must use https/);
  });
});
