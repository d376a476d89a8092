/**
 * cdk-nag on the suite: the AWS Solutions and Serverless checks, registered as bin/app.ts registers
 * them (`Validations.of(app).addPlugins(...)`), run on synth and leave zero unacknowledged findings, for
 * both API authorizations and both stages. The report is read from the cloud assembly's
 * `validation-report.json`, where aws-cdk-lib 2.276 writes every plugin's violations (and `app.synth()`
 * throws when there is one); variants with a wildcard statement, a function without tracing, or any
 * one acknowledgement removed prove that a finding would show there and fail synthesis.
 */
import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NagPack } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConnectorSuiteStack } from '../../lib/connector-suite-stack.js';
import {
  buildSuiteApp,
  loadDefaultSuiteInput,
  removeOutdirs,
  synthWithNag,
  twoConnectorsConfig,
} from '../support/infra-helpers.js';

afterAll(removeOutdirs);

type Authorization = 'iam' | 'apiKey';

/** A suite config value with `api.authorization` set. */
function withAuthorization(config: unknown, authorization: Authorization): Record<string, unknown> {
  const value = config as Record<string, unknown>;
  return { ...value, api: { ...(value.api as Record<string, unknown> | undefined), authorization } };
}

/** The first connector of a stack. */
function firstConnector(stack: ConnectorSuiteStack) {
  const connector = [...stack.connectors.values()][0];
  if (!connector) throw new Error('the stack has no connector');
  return connector;
}

/** The construct path of a connector's event source mapping (its id embeds the inbox's unique id). */
function mappingPath(name: string): (stack: ConnectorSuiteStack) => string {
  return (stack) => {
    const events = stack.connectorEvents.get(name);
    if (!events) throw new Error(`the stack has no connector ${name}`);
    return `${events.mapping.node.path}/Resource`;
  };
}

/**
 * Every acknowledgement the stack makes, where its finding would show without it (construct paths
 * under the stack, for the two-connector fixture, or a function of the stack giving the full path),
 * and under which authorization it is made.
 */
const ACKNOWLEDGEMENTS: ReadonlyArray<{
  id: string;
  authorizations: readonly Authorization[];
  paths: ReadonlyArray<string | ((stack: ConnectorSuiteStack) => string)>;
}> = [
  {
    id: 'AwsSolutions-IAM5[Resource::*]',
    authorizations: ['iam', 'apiKey'],
    paths: ['ConnectorPayments/Role/DefaultPolicy/Resource', 'ConnectorCrm/Role/DefaultPolicy/Resource'],
  },
  {
    id: 'Serverless-LambdaDLQ',
    authorizations: ['iam', 'apiKey'],
    paths: ['ConnectorPayments/Function/Resource', 'ConnectorCrm/Function/Resource'],
  },
  {
    id: 'Serverless-SQSRedrivePolicy',
    authorizations: ['iam', 'apiKey'],
    paths: ['AsyncPayments/Queues/DeadLetterQueue/Resource', 'AsyncCrm/Queues/DeadLetterQueue/Resource'],
  },
  {
    id: 'Serverless-LambdaEventSourceMappingDestination',
    authorizations: ['iam', 'apiKey'],
    paths: [mappingPath('payments'), mappingPath('crm')],
  },
  {
    id: 'AwsSolutions-SMG4',
    authorizations: ['iam', 'apiKey'],
    paths: ['SecretPaymentsApiKey/Secret/Resource', 'SecretCrmOauth/Secret/Resource'],
  },
  {
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    authorizations: ['iam', 'apiKey'],
    paths: ['Api/Api/CloudWatchRole/Resource'],
  },
  {
    id: 'AwsSolutions-APIG3',
    authorizations: ['iam', 'apiKey'],
    paths: ['Api/Api/DeploymentStage.{stage}/Resource'],
  },
  {
    id: 'AwsSolutions-COG4',
    authorizations: ['iam', 'apiKey'],
    paths: [
      'Api/Api/Default/v1/connectors/payments/{operation}/POST/Resource',
      'Api/Api/Default/v1/connectors/crm/{operation}/POST/Resource',
    ],
  },
  {
    id: 'AwsSolutions-APIG4',
    authorizations: ['apiKey'],
    paths: [
      'Api/Api/Default/v1/connectors/payments/{operation}/POST/Resource',
      'Api/Api/Default/v1/connectors/crm/{operation}/POST/Resource',
    ],
  },
];

const MATRIX = (['iam', 'apiKey'] as const).flatMap((authorization) =>
  (['dev', 'prod'] as const).map((stage) => ({ authorization, stage })),
);

describe.for([
  { label: 'the default suite.config.ts', load: loadDefaultSuiteInput },
  { label: 'the two-connector fixture', load: async (): Promise<unknown> => twoConnectorsConfig() },
] as const)('cdk-nag on $label', ({ load }) => {
  let input: unknown;

  beforeAll(async () => {
    input = await load();
  });

  it.for(MATRIX)(
    'runs both packs on synth and leaves zero unacknowledged findings ($authorization, $stage)',
    ({ authorization, stage }) => {
      // Prepare
      const config = withAuthorization(input, authorization);
      const validate = vi.spyOn(NagPack.prototype, 'validate');

      // Act
      const run = synthWithNag(config, { stage });

      // Assess
      expect(run.synthError).toBeUndefined();
      expect(run.findings).toEqual([]);
      expect(run.report.pluginReports).toEqual([]);
      expect(validate.mock.contexts.map((pack) => (pack as NagPack).name).sort()).toEqual([
        'AwsSolutions',
        'Serverless',
      ]);
      for (const result of validate.mock.results) {
        expect(result).toEqual({ type: 'return', value: { success: true, violations: [] } });
      }
    },
  );

  it.for(MATRIX)(
    'reports an unacknowledged wildcard statement on a connector role and fails synth ($authorization, $stage)',
    ({ authorization, stage }) => {
      // Prepare
      const config = withAuthorization(input, authorization);
      const modify = (stack: ConnectorSuiteStack) =>
        firstConnector(stack).function.addToRolePolicy(
          new PolicyStatement({ actions: ['s3:*'], resources: ['*'] }),
        );

      // Act
      const run = synthWithNag(config, { stage, modify });

      // Assess
      expect(run.findings).toEqual([
        {
          plugin: 'AwsSolutions',
          rule: 'AwsSolutions-IAM5[Action::s3:*]',
          severity: 'error',
          constructPaths: [
            `${run.stack.node.path}/${firstConnector(run.stack).node.id}/Role/DefaultPolicy/Resource`,
          ],
        },
      ]);
      expect(run.report.pluginReports.map((r) => [r.pluginName, r.conclusion])).toEqual([
        ['AwsSolutions', 'failure'],
      ]);
      expect(run.synthError?.message).toContain('AwsSolutions-IAM5[Action::s3:*]');
    },
  );

  it.for(MATRIX)(
    'reports a connector function without tracing and fails synth ($authorization, $stage)',
    ({ authorization, stage }) => {
      // Prepare
      const config = withAuthorization(input, authorization);
      const modify = (stack: ConnectorSuiteStack) => {
        (firstConnector(stack).function.node.defaultChild as CfnFunction).tracingConfig = undefined;
      };

      // Act
      const run = synthWithNag(config, { stage, modify });

      // Assess
      const functionPath = `${run.stack.node.path}/${firstConnector(run.stack).node.id}/Function/Resource`;
      expect(run.findings).toEqual([
        {
          plugin: 'Serverless',
          rule: 'Serverless-LambdaTracing',
          severity: 'warning',
          constructPaths: [functionPath],
        },
      ]);
      // A warning-level rule fails synthesis too: the pack reports success only with no violation at all.
      expect(run.report.pluginReports.map((r) => [r.pluginName, r.conclusion])).toEqual([
        ['Serverless', 'failure'],
      ]);
      expect(run.synthError?.message).toContain('Serverless-LambdaTracing');
    },
  );
});

describe('every acknowledgement', () => {
  it.for(['iam', 'apiKey'] as const)('is one of the known, reasoned ones (%s)', (authorization) => {
    // Prepare
    const recorded: Array<{ id: string; reason: string }> = [];
    const acknowledge = Validations.prototype.acknowledge;
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (this: Validations, ...rules) {
      recorded.push(...rules);
      acknowledge.apply(this, rules);
    });

    // Act
    buildSuiteApp(withAuthorization(twoConnectorsConfig(), authorization));

    // Assess
    expect([...new Set(recorded.map((r) => r.id))].sort()).toEqual(
      ACKNOWLEDGEMENTS.filter((a) => a.authorizations.includes(authorization))
        .map((a) => a.id)
        .sort(),
    );
    for (const rule of recorded) expect(rule.reason.length, rule.id).toBeGreaterThan(40);
  });

  const cases = ACKNOWLEDGEMENTS.flatMap((ack) =>
    ack.authorizations.flatMap((authorization) =>
      (['dev', 'prod'] as const).map((stage) => ({ ...ack, authorization, stage })),
    ),
  );

  it.for(cases)(
    'is needed: without $id the finding shows and synth fails ($authorization, $stage)',
    (ack) => {
      // Prepare
      const acknowledge = Validations.prototype.acknowledge;
      vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (
        this: Validations,
        ...rules
      ) {
        acknowledge.apply(
          this,
          rules.filter((rule) => rule.id !== ack.id),
        );
      });
      const config = withAuthorization(twoConnectorsConfig(), ack.authorization);

      // Act
      const run = synthWithNag(config, { stage: ack.stage });

      // Assess
      const stackPath = run.stack.node.path;
      expect(run.findings.map((f) => f.rule)).toEqual([ack.id]);
      expect([...(run.findings[0]?.constructPaths ?? [])].sort()).toEqual(
        ack.paths
          .map((p) =>
            typeof p === 'string' ? `${stackPath}/${p.replace('{stage}', ack.stage)}` : p(run.stack),
          )
          .sort(),
      );
      expect(run.synthError?.message).toContain(ack.id);
    },
  );
});
