/**
 * cdk-nag on the suite: the AWS Solutions and Serverless checks, registered as bin/app.ts registers
 * them (`Validations.of(app).addPlugins(...)`), run on synth and leave zero unacknowledged findings, for
 * both API authorizations and both stages. The report is read from the cloud assembly's
 * `validation-report.json`, where aws-cdk-lib 2.276 writes every plugin's violations (and `app.synth()`
 * throws when there is one); variants with a wildcard statement and a function without tracing, or
 * with every acknowledgement removed, prove that a finding would show there and fail synthesis.
 *
 * Each synthesis with the packs takes about a second warm: tests that read the same variant share
 * one synthesis (memoized below), so the file synthesizes each variant once.
 */
import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NagPack } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConnectorSuiteStack } from '../../lib/connector-suite-stack.js';
import {
  buildSuiteApp,
  FIRST_SYNTH_TIMEOUT_MS,
  loadDefaultSuiteInput,
  type NagRun,
  removeOutdirs,
  synthWithNag,
  twoConnectorsConfig,
} from '../support/infra-helpers.js';

afterAll(removeOutdirs);

/** Runs `synth` once per key; later calls with the key get the same run. */
function memoized<K extends unknown[]>(synth: (...key: K) => NagRun): (...key: K) => NagRun {
  const runs = new Map<string, NagRun>();
  return (...key) => {
    const id = JSON.stringify(key);
    let run = runs.get(id);
    if (!run) {
      run = synth(...key);
      runs.set(id, run);
    }
    return run;
  };
}

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

/** The suites the packs run on. */
const SUITES = [
  { label: 'the default suite.config.ts', load: loadDefaultSuiteInput },
  { label: 'the two-connector fixture', load: async (): Promise<unknown> => twoConnectorsConfig() },
] as const;

describe.for(SUITES)('cdk-nag on $label', ({ load }) => {
  let input: unknown;

  /**
   * The suite with two faults on its first connector, each caught by its own pack: a wildcard
   * statement on the role (AwsSolutions-IAM5) and the function's tracing removed
   * (Serverless-LambdaTracing).
   */
  const withFaults = memoized((authorization: Authorization, stage: 'dev' | 'prod') =>
    synthWithNag(withAuthorization(input, authorization), {
      stage,
      modify: (stack: ConnectorSuiteStack) => {
        const connector = firstConnector(stack);
        connector.function.addToRolePolicy(new PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
        (connector.function.node.defaultChild as CfnFunction).tracingConfig = undefined;
      },
    }),
  );

  beforeAll(async () => {
    input = await load();
    // The process's first synthesis loads most of aws-cdk-lib and the packs' rules: done here, once.
    withFaults('iam', 'dev');
  }, FIRST_SYNTH_TIMEOUT_MS);

  it.for(MATRIX)(
    'runs both packs on synth and leaves zero unacknowledged findings ($authorization, $stage)',
    ({ authorization, stage }) => {
      // Prepare
      const validate = vi.spyOn(NagPack.prototype, 'validate');

      // Act
      const run = synthWithNag(withAuthorization(input, authorization), { stage });

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
      const rule = 'AwsSolutions-IAM5[Action::s3:*]';

      // Act
      const run = withFaults(authorization, stage);

      // Assess
      expect(run.findings.filter((finding) => finding.plugin === 'AwsSolutions')).toEqual([
        {
          plugin: 'AwsSolutions',
          rule,
          severity: 'error',
          constructPaths: [`${firstConnector(run.stack).node.path}/Role/DefaultPolicy/Resource`],
        },
      ]);
      expect(run.report.pluginReports.map((r) => [r.pluginName, r.conclusion])).toContainEqual([
        'AwsSolutions',
        'failure',
      ]);
      expect(run.synthError?.message).toContain(rule);
    },
  );

  it.for(MATRIX)(
    'reports a connector function without tracing and fails synth ($authorization, $stage)',
    ({ authorization, stage }) => {
      // Prepare
      const rule = 'Serverless-LambdaTracing';

      // Act
      const run = withFaults(authorization, stage);

      // Assess
      const functionPath = `${firstConnector(run.stack).node.path}/Function/Resource`;
      expect(run.findings.filter((finding) => finding.plugin === 'Serverless')).toEqual([
        { plugin: 'Serverless', rule, severity: 'warning', constructPaths: [functionPath] },
      ]);
      // A warning-level rule fails synthesis too: the pack reports success only with no violation at all.
      expect(run.report.pluginReports.map((r) => [r.pluginName, r.conclusion])).toContainEqual([
        'Serverless',
        'failure',
      ]);
      expect(run.synthError?.message).toContain(rule);
    },
  );

  it.for(MATRIX)('the two faults show nothing else ($authorization, $stage)', ({ authorization, stage }) => {
    // Prepare
    const expected = ['AwsSolutions-IAM5[Action::s3:*]', 'Serverless-LambdaTracing'];

    // Act
    const run = withFaults(authorization, stage);

    // Assess
    expect(run.findings.map((finding) => finding.rule).sort()).toEqual(expected);
    expect(run.report.pluginReports.map((r) => r.pluginName).sort()).toEqual(['AwsSolutions', 'Serverless']);
  });
});

describe('every acknowledgement', () => {
  /**
   * The two-connector fixture synthesized with every acknowledgement the stack makes removed: each
   * one's finding must show, at the paths it names, and nothing else.
   */
  const unacknowledged = memoized((authorization: Authorization, stage: 'dev' | 'prod') => {
    const acknowledge = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => {});
    try {
      return synthWithNag(withAuthorization(twoConnectorsConfig(), authorization), { stage });
    } finally {
      acknowledge.mockRestore();
    }
  });

  beforeAll(() => {
    unacknowledged('iam', 'dev');
  }, FIRST_SYNTH_TIMEOUT_MS);

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

  it.for(MATRIX)(
    'without them, exactly their findings show and synth fails ($authorization, $stage)',
    ({ authorization, stage }) => {
      // Prepare
      const expected = ACKNOWLEDGEMENTS.filter((a) => a.authorizations.includes(authorization)).map(
        (a) => a.id,
      );

      // Act
      const run = unacknowledged(authorization, stage);

      // Assess
      expect(run.findings.map((f) => f.rule).sort()).toEqual([...expected].sort());
      for (const id of expected) expect(run.synthError?.message).toContain(id);
    },
  );

  const cases = ACKNOWLEDGEMENTS.flatMap((ack) =>
    ack.authorizations.flatMap((authorization) =>
      (['dev', 'prod'] as const).map((stage) => ({ ...ack, authorization, stage })),
    ),
  );

  it.for(cases)('is needed: without $id its finding shows where it says ($authorization, $stage)', (ack) => {
    // Prepare
    const { authorization, stage } = ack;

    // Act
    const run = unacknowledged(authorization, stage);

    // Assess
    // The suite's construct paths: under its construct (id `Default`) in the stack.
    const suitePath = run.stack.suite.node.path;
    const finding = run.findings.find((f) => f.rule === ack.id);
    expect(finding, ack.id).toBeDefined();
    expect([...(finding?.constructPaths ?? [])].sort()).toEqual(
      ack.paths
        .map((p) => (typeof p === 'string' ? `${suitePath}/${p.replace('{stage}', stage)}` : p(run.stack)))
        .sort(),
    );
  });
});
