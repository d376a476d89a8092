/**
 * The asynchronous path of the stack (docs/design.md §2): per connector an inbox and a dead-letter queue,
 * an EventBridge rule on the suite's bus (or the default bus) into the inbox with a queue policy
 * admitting only that rule, an event source mapping with partial batch responses and the config's
 * batching and concurrency, an alarm on the dead-letter queue, the function's grants, environment
 * and the stack's outputs; synthesized in-process with bundling skipped and read as JSON.
 */
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSuiteConfig, resourceId, type SuiteConfig } from '../../functions/shared/config.js';
import { ASYNC_ENV, INVOCATION_REQUESTED } from '../../functions/shared/runtime/async-contract.js';
import { inboxVisibilityTimeout } from '../../lib/constructs/connector-queues.js';
import {
  httpConnector,
  removeOutdirs,
  SUITES_UNDER_TEST,
  synthSuite,
  synthWithNag,
  twoConnectorsConfig,
} from '../support/infra-helpers.js';
import {
  actionsOf,
  allStatements,
  type CfnTemplate,
  connectorFunction,
  connectorMapping,
  connectorQueues,
  connectorRules,
  environmentOf,
  getAtt,
  type IamStatement,
  queuePolicyStatements,
  ref,
  referencedIds,
  resource,
  resourcesOf,
  resourcesOfType,
  roleOf,
  statementsOfRole,
} from '../support/infra-template.js';

afterAll(removeOutdirs);

/**
 * How long one synth may take: tens of seconds on a loaded 2-core machine. Each template is
 * synthesized once, in a `beforeAll` (or a nag test of its own), never inside a plain test.
 */
const SYNTH_TIMEOUT_MS = 120_000;

/** 14 days in seconds: the dead-letter queue's retention. */
const FOURTEEN_DAYS = 1_209_600;
/** The default bus's ARN as the template renders it. */
const DEFAULT_BUS_ARN = 'arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default';
/** What the SQS event source mapping needs on the inbox. */
const MAPPING_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

/** A statement as `{effect, actions (sorted), resources}`, for order-free comparison. */
function normalized(statement: IamStatement): { effect: string; actions: string[]; resources: unknown[] } {
  return {
    effect: statement.Effect,
    actions: actionsOf(statement).sort(),
    resources: resourcesOf(statement),
  };
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

/** The one rule of a connector, as `[logicalId, resource]`. */
function ruleOf(json: CfnTemplate, name: string) {
  const rules = connectorRules(json, name);
  expect(rules, `rules of connector ${name}`).toHaveLength(1);
  return rules[0] as NonNullable<(typeof rules)[number]>;
}

/** The one `AWS::Events::EventBus` of a template: its logical id. */
function busOf(json: CfnTemplate): string {
  const buses = resourcesOfType(json, 'AWS::Events::EventBus');
  expect(buses).toHaveLength(1);
  return (buses[0] as NonNullable<(typeof buses)[number]>)[0];
}

/** The statements of a connector's role that name one of `ids`. */
function statementsOn(json: CfnTemplate, name: string, ids: readonly string[]): IamStatement[] {
  return statementsOfRole(json, roleOf(connectorFunction(json, name)[1])).filter((s) =>
    referencedIds(s.Resource).some((id) => ids.includes(id)),
  );
}

describe.for(SUITES_UNDER_TEST)('the asynchronous path of $label', ({ load }) => {
  let input: unknown;
  let suite: SuiteConfig;

  beforeAll(async () => {
    input = await load();
    suite = parseSuiteConfig(input, 'test suite config');
    synthSuite(input);
  }, SYNTH_TIMEOUT_MS);

  it('has per connector an inbox and a dead-letter queue, both SSE-SQS, no physical names', () => {
    // Prepare
    const names = suite.connectors.map((c) => c.name);

    // Act
    const { json } = synthSuite(input);

    // Assess
    const queues = resourcesOfType(json, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(2 * names.length);
    const found = names.flatMap((name) => {
      const { inboxId, deadLetterQueueId } = connectorQueues(json, name);
      return [inboxId, deadLetterQueueId];
    });
    expect(new Set(found).size).toBe(2 * names.length);
    expect(found.sort()).toEqual(queues.map(([id]) => id).sort());
    for (const [, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      expect(queue.Properties.KmsMasterKeyId).toBeUndefined();
      expect(queue.Properties.QueueName).toBeUndefined();
    }
  });

  it("keeps dead letters 14 days, and redrives the inbox to its own dead-letter queue after the config's maxReceiveCount", () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    for (const connector of connectors) {
      const { inboxId, deadLetterQueueId } = connectorQueues(json, connector.name);
      const inbox = resource(json, inboxId).Properties;
      const deadLetterQueue = resource(json, deadLetterQueueId).Properties;
      expect(deadLetterQueue.MessageRetentionPeriod).toBe(FOURTEEN_DAYS);
      expect(deadLetterQueue.RedrivePolicy).toBeUndefined();
      expect(inbox.RedrivePolicy).toEqual({
        deadLetterTargetArn: getAtt(deadLetterQueueId, 'Arn'),
        maxReceiveCount: connector.async.maxReceiveCount,
      });
    }
  });

  it("gives each inbox a visibility timeout of at least six times its function's timeout, in whole seconds", () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    for (const connector of connectors) {
      const { inboxId } = connectorQueues(json, connector.name);
      const visibility = resource(json, inboxId).Properties.VisibilityTimeout as number;
      const functionTimeout = connectorFunction(json, connector.name)[1].Properties.Timeout as number;
      expect(functionTimeout).toBe(connector.functionTimeoutSeconds);
      expect(Number.isInteger(visibility)).toBe(true);
      expect(visibility).toBeGreaterThanOrEqual(6 * functionTimeout);
      expect(visibility).toBe(Math.max(6 * functionTimeout, 30));
    }
  });

  it('maps each inbox to its function with partial batch responses, batch size, batching window and maximum concurrency from config', () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    expect(resourcesOfType(json, 'AWS::Lambda::EventSourceMapping')).toHaveLength(connectors.length);
    for (const connector of connectors) {
      const [, mapping] = connectorMapping(json, connector.name);
      const [functionId] = connectorFunction(json, connector.name);
      const { inboxId } = connectorQueues(json, connector.name);
      expect(mapping.Properties).toMatchObject({
        EventSourceArn: getAtt(inboxId, 'Arn'),
        FunctionName: ref(functionId),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: connector.async.batchSize,
        MaximumBatchingWindowInSeconds: Math.ceil(connector.async.maxBatchingWindowSeconds),
        ScalingConfig: { MaximumConcurrency: connector.async.maxConcurrency },
      });
      expect(mapping.Properties.Enabled).not.toBe(false);
      expect(mapping.Properties.FilterCriteria).toBeUndefined();
    }
  });

  it('has one event bus, of no fixed name, and per connector one rule on it with the exact pattern, into its inbox', () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const busId = busOf(json);
    expect(resourcesOfType(json, 'AWS::Events::Rule')).toHaveLength(connectors.length);
    for (const connector of connectors) {
      const [, rule] = ruleOf(json, connector.name);
      const { inboxId, deadLetterQueueId } = connectorQueues(json, connector.name);
      expect(rule.Properties.EventBusName).toEqual(ref(busId));
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.EventPattern).toEqual({
        'detail-type': [INVOCATION_REQUESTED],
        detail: { connector: [connector.name] },
      });
      expect(rule.Properties.Targets).toEqual([
        {
          Id: 'Target0',
          Arn: getAtt(inboxId, 'Arn'),
          DeadLetterConfig: { Arn: getAtt(deadLetterQueueId, 'Arn') },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        },
      ]);
    }
  });

  it("admits to each inbox and dead-letter queue only events.amazonaws.com, and only for that connector's rule", () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    expect(resourcesOfType(json, 'AWS::SQS::QueuePolicy')).toHaveLength(2 * connectors.length);
    for (const connector of connectors) {
      const [ruleId] = ruleOf(json, connector.name);
      const { inboxId, deadLetterQueueId } = connectorQueues(json, connector.name);
      for (const [queueId, actions] of [
        [inboxId, ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']],
        [deadLetterQueueId, ['sqs:SendMessage']],
      ] as const) {
        const allows = queuePolicyStatements(json, queueId).filter((s) => s.Effect === 'Allow');
        expect(allows).toHaveLength(1);
        const [allow] = allows as [IamStatement];
        expect(allow.Principal).toEqual({ Service: 'events.amazonaws.com' });
        expect(allow.Condition).toEqual({ ArnEquals: { 'aws:SourceArn': getAtt(ruleId, 'Arn') } });
        expect(normalized(allow)).toEqual({
          effect: 'Allow',
          actions: [...actions],
          resources: [getAtt(queueId, 'Arn')],
        });
      }
    }
  });

  it("alarms when a connector's dead-letter queue holds any message, naming the connector and npm run redrive", () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(connectors.length);
    for (const connector of connectors) {
      const { deadLetterQueueId } = connectorQueues(json, connector.name);
      const own = alarms.filter(([, alarm]) =>
        JSON.stringify(alarm.Properties.Dimensions).includes(
          JSON.stringify(getAtt(deadLetterQueueId, 'QueueName')),
        ),
      );
      expect(own).toHaveLength(1);
      const [, alarm] = own[0] as NonNullable<(typeof own)[number]>;
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(deadLetterQueueId, 'QueueName') }],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm.Properties.AlarmName).toBeUndefined();
      expect(String(alarm.Properties.AlarmDescription)).toContain(`Connector ${connector.name}:`);
      expect(String(alarm.Properties.AlarmDescription)).toContain('npm run redrive');
    }
  });

  it("grants each role exactly the async path's actions on its own queues and the bus, and nothing on another connector's", () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const busId = busOf(json);
    for (const connector of connectors) {
      const { inboxId, deadLetterQueueId } = connectorQueues(json, connector.name);
      const statements = statementsOfRole(json, roleOf(connectorFunction(json, connector.name)[1]));
      const asyncStatements = statements.filter((s) =>
        actionsOf(s).some((a) => a.startsWith('sqs:') || a.startsWith('events:')),
      );
      expect(asyncStatements.map(normalized)).toEqual(
        expect.arrayContaining([
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
        ]),
      );
      expect(asyncStatements).toHaveLength(connector.async.resultEvents ? 4 : 3);
      const putEvents = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('events:')));
      expect(putEvents.flatMap(resourcesOf)).toEqual(
        connector.async.resultEvents ? [getAtt(busId, 'Arn')] : [],
      );
      const others = connectors
        .filter((c) => c.name !== connector.name)
        .flatMap((c) => Object.values(connectorQueues(json, c.name)));
      expect(statementsOn(json, connector.name, others)).toEqual([]);
      // Every queue statement names this connector's queues only, and never a wildcard.
      for (const statement of asyncStatements) {
        expect(
          referencedIds(statement.Resource).every((id) => [inboxId, deadLetterQueueId, busId].includes(id)),
        ).toBe(true);
      }
    }
  });

  it("no Allow statement anywhere gives a principal other than events.amazonaws.com or a connector's role a queue action", () => {
    // Prepare
    const names = suite.connectors.map((c) => c.name);

    // Act
    const { json } = synthSuite(input);

    // Assess
    const connectorRoles = new Set(names.map((name) => roleOf(connectorFunction(json, name)[1])));
    const queueAllows = allStatements(json).filter(
      ({ statement }) =>
        statement.Effect === 'Allow' && actionsOf(statement).some((a) => a.startsWith('sqs:')),
    );
    for (const { logicalId, statement } of queueAllows) {
      const holder = resource(json, logicalId);
      if (holder.Type === 'AWS::SQS::QueuePolicy') {
        expect(statement.Principal).toEqual({ Service: 'events.amazonaws.com' });
      } else {
        expect(holder.Type).toBe('AWS::IAM::Policy');
        const roles = (holder.Properties.Roles as unknown[]).map((r) => (r as { Ref: string }).Ref);
        expect(roles.every((role) => connectorRoles.has(role))).toBe(true);
      }
    }
  });

  it("sets INBOX_QUEUE_URL and DEAD_LETTER_QUEUE_URL to the connector's own queues, and EVENT_BUS_NAME to the bus when result events are on", () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    const busId = busOf(json);
    for (const connector of connectors) {
      const env = environmentOf(connectorFunction(json, connector.name)[1]);
      const { inboxId, deadLetterQueueId } = connectorQueues(json, connector.name);
      expect(env[ASYNC_ENV.inboxQueueUrl]).toEqual(ref(inboxId));
      expect(env[ASYNC_ENV.deadLetterQueueUrl]).toEqual(ref(deadLetterQueueId));
      expect(env[ASYNC_ENV.eventBusName]).toEqual(connector.async.resultEvents ? ref(busId) : undefined);
    }
  });

  it('outputs per connector its inbox and dead-letter queue URL and ARN, and the bus name', () => {
    // Prepare
    const connectors = suite.connectors;

    // Act
    const { json } = synthSuite(input);

    // Assess
    expect(json.Outputs?.EventBusName?.Value).toEqual(ref(busOf(json)));
    for (const connector of connectors) {
      const prefix = resourceId(connector.name);
      const { inboxId, deadLetterQueueId } = connectorQueues(json, connector.name);
      expect(json.Outputs?.[`${prefix}InboxQueueUrl`]?.Value).toEqual(ref(inboxId));
      expect(json.Outputs?.[`${prefix}InboxQueueArn`]?.Value).toEqual(getAtt(inboxId, 'Arn'));
      expect(json.Outputs?.[`${prefix}DeadLetterQueueUrl`]?.Value).toEqual(ref(deadLetterQueueId));
      expect(json.Outputs?.[`${prefix}DeadLetterQueueArn`]?.Value).toEqual(getAtt(deadLetterQueueId, 'Arn'));
    }
  });
});

describe("eventBus 'default'", () => {
  const config = { ...twoConnectorsConfig(), eventBus: 'default' };

  beforeAll(() => {
    synthSuite(config);
  }, SYNTH_TIMEOUT_MS);

  it('creates no bus; the rules listen on the default bus', () => {
    // Prepare
    const names = ['payments', 'crm'];

    // Act
    const { json } = synthSuite(config);

    // Assess
    expect(resourcesOfType(json, 'AWS::Events::EventBus')).toEqual([]);
    for (const name of names) {
      const [, rule] = ruleOf(json, name);
      expect([undefined, 'default']).toContain(rule.Properties.EventBusName);
      expect(rule.Properties.EventPattern).toEqual({
        'detail-type': [INVOCATION_REQUESTED],
        detail: { connector: [name] },
      });
    }
  });

  it('lets a connector with result events put events on the default bus only, named default', () => {
    // Prepare
    const withResults = 'payments';
    const withoutResults = 'crm';

    // Act
    const { json } = synthSuite(config);

    // Assess
    const putEvents = (name: string) =>
      statementsOfRole(json, roleOf(connectorFunction(json, name)[1])).filter((s) =>
        actionsOf(s).includes('events:PutEvents'),
      );
    expect(
      putEvents(withResults)
        .map(normalized)
        .map((s) => ({ ...s, resources: s.resources.map(rendered) })),
    ).toEqual([{ effect: 'Allow', actions: ['events:PutEvents'], resources: [DEFAULT_BUS_ARN] }]);
    expect(putEvents(withoutResults)).toEqual([]);
    expect(environmentOf(connectorFunction(json, withResults)[1])[ASYNC_ENV.eventBusName]).toBe('default');
    expect(environmentOf(connectorFunction(json, withoutResults)[1])[ASYNC_ENV.eventBusName]).toBeUndefined();
    expect(json.Outputs?.EventBusName?.Value).toBe('default');
  });

  it(
    'leaves zero unacknowledged nag findings',
    () => {
      // Prepare
      const stage = 'prod';

      // Act
      const run = synthWithNag(config, { stage });

      // Assess
      expect(run.synthError).toBeUndefined();
      expect(run.findings).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('async settings from config', () => {
  const config = {
    connectors: [
      httpConnector('bulk', {
        functionTimeoutSeconds: 900,
        async: {
          maxReceiveCount: 12,
          backoffMaxSeconds: 30_000,
          batchSize: 500,
          maxBatchingWindowSeconds: 2.5,
          maxConcurrency: 40,
          resultEvents: false,
        },
      }),
      httpConnector('quick', { functionTimeoutSeconds: 2 }),
    ],
  };

  beforeAll(() => {
    synthSuite(config);
  }, SYNTH_TIMEOUT_MS);

  it('reach the redrive policy and the mapping; a fractional batching window is rounded up', () => {
    // Prepare
    const name = 'bulk';

    // Act
    const { json } = synthSuite(config);

    // Assess
    const { inboxId } = connectorQueues(json, name);
    expect(resource(json, inboxId).Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 12 });
    expect(connectorMapping(json, name)[1].Properties).toMatchObject({
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 3,
      ScalingConfig: { MaximumConcurrency: 40 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('size the visibility timeout: six times a 900 s function timeout, and at least 30 s for a 2 s one', () => {
    // Prepare
    const expected = { bulk: 5_400, quick: 30 };

    // Act
    const { json } = synthSuite(config);

    // Assess
    for (const [name, seconds] of Object.entries(expected)) {
      const { inboxId } = connectorQueues(json, name);
      expect(resource(json, inboxId).Properties.VisibilityTimeout).toBe(seconds);
    }
  });

  it('size the inbox retention from the worst case of the settings, at least the 4 days of the SQS default', () => {
    // Prepare
    // bulk: 900 s (a requeue's delay) + 12 deliveries × max(5,400 s visibility, 2.5 + 900 + 30,000 s)
    // + one day of backlog = 458,130 s; quick keeps the SQS default.
    const expected = { bulk: 458_130, quick: 345_600 };

    // Act
    const { json } = synthSuite(config);

    // Assess
    for (const [name, seconds] of Object.entries(expected)) {
      const { inboxId } = connectorQueues(json, name);
      expect(resource(json, inboxId).Properties.MessageRetentionPeriod).toBe(seconds);
    }
  });

  it('with resultEvents false: no PutEvents, no EVENT_BUS_NAME, the queue grants unchanged', () => {
    // Prepare
    const name = 'bulk';

    // Act
    const { json } = synthSuite(config);

    // Assess
    const statements = statementsOfRole(json, roleOf(connectorFunction(json, name)[1]));
    expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('events:'))).toEqual([]);
    expect(environmentOf(connectorFunction(json, name)[1])[ASYNC_ENV.eventBusName]).toBeUndefined();
    const { inboxId, deadLetterQueueId } = connectorQueues(json, name);
    expect(statementsOn(json, name, [inboxId, deadLetterQueueId]).map(normalized)).toHaveLength(3);
    // The quick connector keeps its default: result events on.
    expect(environmentOf(connectorFunction(json, 'quick')[1])[ASYNC_ENV.eventBusName]).toEqual(
      ref(busOf(json)),
    );
  });

  it(
    'leave zero unacknowledged nag findings',
    () => {
      // Prepare
      const stage = 'dev';

      // Act
      const run = synthWithNag(config, { stage });

      // Assess
      expect(run.synthError).toBeUndefined();
      expect(run.findings).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe.for([
  { stage: 'dev', removal: 'Delete' },
  { stage: 'prod', removal: 'Retain' },
] as const)('the $stage stage', ({ stage, removal }) => {
  beforeAll(() => {
    synthSuite(twoConnectorsConfig(), { stage });
  }, SYNTH_TIMEOUT_MS);

  it(`gives every queue removal policy ${removal}`, () => {
    // Prepare
    const config = twoConnectorsConfig();

    // Act
    const { json } = synthSuite(config, { stage });

    // Assess
    const queues = resourcesOfType(json, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(4);
    for (const [, queue] of queues) {
      expect(queue.DeletionPolicy).toBe(removal);
      expect(queue.UpdateReplacePolicy).toBe(removal);
    }
  });
});

describe('inboxVisibilityTimeout', () => {
  it.for([
    { timeout: Duration.seconds(29), seconds: 174 },
    { timeout: Duration.seconds(5), seconds: 30 },
    { timeout: Duration.millis(5_500), seconds: 33 },
    { timeout: Duration.millis(5_001), seconds: 31 },
    { timeout: Duration.seconds(900), seconds: 5_400 },
  ])('is max(6 × timeout, 30 s) rounded up to whole seconds ($seconds s)', ({ timeout, seconds }) => {
    // Prepare
    const functionTimeout = timeout;

    // Act
    const visibility = inboxVisibilityTimeout(functionTimeout);

    // Assess
    expect(visibility.toSeconds()).toBe(seconds);
    expect(visibility.toSeconds()).toBeGreaterThanOrEqual(6 * functionTimeout.toSeconds({ integral: false }));
  });
});
