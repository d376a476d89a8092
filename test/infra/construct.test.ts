/**
 * `ConnectorSuite` in a CDK app of its own (no `bin/app.ts`, no `suite.config.ts`): what it creates
 * by default, every kind of override (function, API, table, queue props) and existing resource
 * (event bus, table, secret) it takes, and its config errors. Synthesized in-process, bundling
 * skipped, one template per variant shared by its tests.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidationError, type SuiteConfigInput } from '../../functions/shared/config.js';
import { ConnectorSuite, type ConnectorSuiteProps } from '../../lib/index.js';
import { weatherKind } from '../fixtures/custom-kind/kind.js';
import { CDK_JSON_CONTEXT, httpConnector, SKIP_BUNDLING_CONTEXT } from '../support/infra-helpers.js';

/** A suite of one `http` connector named `billing`, with `overrides` on it. */
function billingSuite(overrides: Record<string, unknown> = {}): SuiteConfigInput {
  return { connectors: [httpConnector('billing', overrides)] } as unknown as SuiteConfigInput;
}

function consumerApp(props: (stack: Stack) => ConnectorSuiteProps): { stack: Stack; suite: ConnectorSuite } {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING_CONTEXT } });
  const stack = new Stack(app, 'ConsumerStack');
  const suite = new ConnectorSuite(stack, 'Connectors', props(stack));
  return { stack, suite };
}

describe('ConnectorSuite with its defaults', () => {
  let template: Template;
  let suite: ConnectorSuite;

  beforeAll(() => {
    const built = consumerApp(() => ({ suite: billingSuite() }));
    suite = built.suite;
    template = Template.fromStack(built.stack);
  });

  it('creates the function, table, bus, secret, queues and API of the suite', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(suite.idempotencyTable).toBeDefined();
    expect([...suite.connectors.keys()]).toEqual(['billing']);
  });

  it('names its outputs under its own id, so two suites fit in one stack', () => {
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    expect(outputs.some((name) => name.startsWith('ConnectorsApiUrl'))).toBe(true);
    expect(outputs.some((name) => name.startsWith('ConnectorsBillingDeadLetterQueueArn'))).toBe(true);
  });
});

describe('ConnectorSuite with overrides and existing resources', () => {
  let template: Template;
  let suite: ConnectorSuite;

  beforeAll(() => {
    const built = consumerApp((stack) => ({
      suite: billingSuite(),
      stage: 'prod',
      existingEventBus: new EventBus(stack, 'TeamBus'),
      existingTable: new Table(stack, 'TeamTable', {
        partitionKey: { name: 'id', type: AttributeType.STRING },
        timeToLiveAttribute: 'expiration',
      }),
      existingSecrets: { billing: new Secret(stack, 'TeamSecret') },
      functionProps: { memorySize: 1024, environment: { TEAM: 'payments' } },
      apiProps: { description: 'Team connectors', deployOptions: { throttlingRateLimit: 7 } },
      inboxProps: { receiveMessageWaitTime: Duration.seconds(20) },
      deadLetterQueueProps: { retentionPeriod: Duration.days(7) },
      outputs: false,
    }));
    suite = built.suite;
    template = Template.fromStack(built.stack);
  });

  it('uses the existing bus, table and secret instead of creating its own', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    expect(suite.idempotencyTable).toBeUndefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^TeamBus') },
    });
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(fn.Properties.Environment.Variables.IDEMPOTENCY_TABLE_NAME).toEqual({
      Ref: expect.stringMatching(/^TeamTable/),
    });
    expect(fn.Properties.Environment.Variables.CONNECTOR_SECRET_ID).toEqual({
      Ref: expect.stringMatching(/^TeamSecret/),
    });
  });

  it('applies the function props over its defaults and keeps the variables the runtime reads', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          TEAM: 'payments',
          POWERTOOLS_SERVICE_NAME: 'billing',
          CONNECTOR_CONFIG: Match.anyValue(),
        }),
      },
    });
  });

  it('applies the API, inbox and dead-letter queue props over their defaults', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { Description: 'Team connectors' });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 7 })]),
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      ReceiveMessageWaitTimeSeconds: 20,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 7 * 24 * 3600 });
  });

  it('adds no outputs when told not to', () => {
    expect(Object.keys(template.toJSON().Outputs ?? {})).toEqual([]);
  });
});

describe('ConnectorSuite with awsSigV4 connectors', () => {
  const ROLE_ARN = 'arn:aws:iam::123456789012:role/orders-api-invoker';
  let template: Template;

  beforeAll(() => {
    const sigV4 = { type: 'awsSigV4', service: 'execute-api', region: 'eu-west-1' };
    const built = consumerApp(() => ({
      suite: {
        connectors: [
          httpConnector('assumer', { auth: { ...sigV4, roleArn: ROLE_ARN, externalId: 'ext-example' } }),
          httpConnector('own-role', { auth: sigV4 }),
        ],
      } as unknown as SuiteConfigInput,
    }));
    template = Template.fromStack(built.stack);
  });

  /** The actions of the policies attached to the role of the connector with this id prefix. */
  function statementsOf(idPrefix: string): Array<{ Action: unknown; Resource: unknown }> {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.startsWith(idPrefix),
    );
    return policies.flatMap(
      ([, policy]) =>
        (
          policy as {
            Properties: { PolicyDocument: { Statement: Array<{ Action: unknown; Resource: unknown }> } };
          }
        ).Properties.PolicyDocument.Statement,
    );
  }

  it('grants sts:AssumeRole on the roleArn only, and only to the connector that names it', () => {
    const assumer = statementsOf('ConnectorsConnectorAssumer').filter((s) =>
      JSON.stringify(s.Action).includes('sts:'),
    );
    const ownRole = statementsOf('ConnectorsConnectorOwnRole').filter((s) =>
      JSON.stringify(s.Action).includes('sts:'),
    );
    expect(assumer).toEqual([expect.objectContaining({ Action: 'sts:AssumeRole', Resource: ROLE_ARN })]);
    expect(ownRole).toEqual([]);
  });

  it('creates no secret for a scheme that reads none', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});

describe('ConnectorSuite with a connector kind of your own', () => {
  let template: Template;

  beforeAll(() => {
    const built = consumerApp(() => ({
      suite: {
        connectors: [
          httpConnector('billing'),
          {
            name: 'weather',
            kind: 'weather',
            baseUrl: 'https://api.weather.example',
            auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'weather' },
            settings: { units: 'imperial' },
          },
        ],
      } as unknown as SuiteConfigInput,
      kinds: [weatherKind],
    }));
    template = Template.fromStack(built.stack);
  });

  it("gives the kind's connector its function, with its settings in CONNECTOR_CONFIG", () => {
    template.resourceCountIs('AWS::Lambda::Function', 2);
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Array<{
      Properties: { Description: string; Environment: { Variables: Record<string, string> } };
    }>;
    const weather = functions.find((fn) => fn.Properties.Description === 'Connector weather (weather)');
    expect(JSON.parse(weather?.Properties.Environment.Variables.CONNECTOR_CONFIG ?? '{}')).toMatchObject({
      kind: 'weather',
      settings: { units: 'imperial' },
      auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', secret: 'weather' },
    });
  });

  it('refuses an entry of a kind it was not handed, naming the kinds known', () => {
    expect(() =>
      consumerApp(() => ({
        suite: {
          connectors: [{ name: 'weather', kind: 'weather', baseUrl: 'https://api.weather.example' }],
        } as unknown as SuiteConfigInput,
      })),
    ).toThrowError(/connectors\[0\]\.kind: 'weather' is not a registered connector kind/);
  });

  it("refuses settings the kind's schema refuses, naming the field", () => {
    expect(() =>
      consumerApp(() => ({
        suite: {
          connectors: [
            {
              name: 'weather',
              kind: 'weather',
              baseUrl: 'https://api.weather.example',
              settings: { units: 'kelvin' },
            },
          ],
        } as unknown as SuiteConfigInput,
        kinds: [weatherKind],
      })),
    ).toThrowError(/connectors\[0\]\.settings\.units/);
  });
});

describe('ConnectorSuite config errors', () => {
  it('refuses a bad suite at synth, naming the field', () => {
    expect(() =>
      consumerApp(() => ({
        suite: billingSuite({ baseUrl: 'http://api.example.com' }),
      })),
    ).toThrowError(ConfigValidationError);
    expect(() =>
      consumerApp(() => ({
        suite: billingSuite({ baseUrl: 'http://api.example.com' }),
      })),
    ).toThrowError(/connectors\[0\]\.baseUrl: must use https/);
  });
});
