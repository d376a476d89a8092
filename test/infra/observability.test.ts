/**
 * ConnectorObservability added to the suite's stack (as the ConnectorSuite construct will add it):
 * the dashboard's widgets read the metrics the runtime emits (namespace, name, the full dimension
 * set, statistic), each alarm watches the right metric with its threshold, comparison and
 * missing-data treatment, the alarm topic reaches every alarm and the existing dead-letter alarms
 * (and nothing when there is no topic), overrides apply, and cdk-nag's packs stay clean.
 *
 * Each variant is synthesized once (bundling skipped) in a hook and read by the tests after it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../functions/shared/powertools.js';
import type { ConnectorSuiteStack } from '../../lib/connector-suite-stack.js';
import {
  ConnectorObservability,
  type ConnectorObservabilityProps,
  RUNBOOK_SECTIONS,
} from '../../lib/constructs/connector-observability.js';
import {
  buildSuiteApp,
  FIRST_SYNTH_TIMEOUT_MS,
  httpConnector,
  loadDefaultSuiteInput,
  PROJECT_ROOT,
  removeOutdirs,
  synthWithNag,
  twoConnectorsConfig,
} from '../support/infra-helpers.js';
import {
  type CfnResource,
  type CfnTemplate,
  connectorFunction,
  resource,
  resourcesOfType,
} from '../support/infra-template.js';

afterAll(removeOutdirs);

/** An obviously fake topic of another account, imported: the construct never creates one. */
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:connector-alarms-example';

/** Adds the construct to a suite stack, fed from the stack's connectors, queues and API. */
function addObservability(
  stack: ConnectorSuiteStack,
  options: { topic?: boolean; props?: Partial<ConnectorObservabilityProps> } = {},
): ConnectorObservability {
  const topic: ITopic | undefined = options.topic
    ? Topic.fromTopicArn(stack, 'AlarmTopic', TOPIC_ARN)
    : undefined;
  return new ConnectorObservability(stack, 'Observability', {
    connectors: [...stack.connectors].map(([name, connector]) => {
      const events = stack.connectorEvents.get(name);
      if (!events) throw new Error(`no asynchronous path for ${name}`);
      return {
        name,
        function: connector.function,
        deadLetterQueue: events.queues.deadLetterQueue,
        inbox: events.queues.inbox,
        deadLetterAlarm: events.queues.deadLetterAlarm,
      };
    }),
    api: stack.api.api,
    ...(topic ? { alarmTopic: topic } : {}),
    ...options.props,
  });
}

interface Variant {
  readonly stack: Stack;
  readonly names: readonly string[];
  readonly observability: ConnectorObservability;
  readonly json: CfnTemplate;
}

/** Builds the suite of `config`, adds the construct, synthesizes the stack once. */
function variant(config: unknown, options: Parameters<typeof addObservability>[1] = {}): Variant {
  // The suite's own observability off: this file adds the construct itself, with its options.
  const { stack, suite } = buildSuiteApp(config, { stackProps: { observability: false } });
  const observability = addObservability(stack, options);
  const json = Template.fromStack(stack).toJSON() as CfnTemplate;
  return { stack, names: suite.connectors.map((c) => c.name), observability, json };
}

/** A metric line of a dashboard widget: `[namespace, name, dim, value, ..., {options}]`, or `[{expression}]`. */
type MetricLine = Array<string | Record<string, unknown>>;

interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly alarms?: readonly string[];
    readonly metrics?: readonly MetricLine[];
  };
}

/**
 * The dashboard's body as JSON, with each CloudFormation token in it written as `${LogicalId}` (a
 * Ref) or `${LogicalId.Attribute}` (a GetAtt).
 */
function dashboardOf(json: CfnTemplate): { widgets: Widget[] } {
  const dashboards = resourcesOfType(json, 'AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  const [first] = dashboards;
  if (!first) throw new Error('the template has no dashboard');
  const body = first[1].Properties.DashboardBody as {
    'Fn::Join': [string, Array<string | { Ref?: string; 'Fn::GetAtt'?: [string, string] }>];
  };
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part.Ref) return `\${${part.Ref}}`;
      return `\${${part['Fn::GetAtt']?.join('.')}}`;
    })
    .join('');
  return JSON.parse(text) as { widgets: Widget[] };
}

/** A widget by title; fails when there is not exactly one. */
function widget(dashboard: { widgets: Widget[] }, title: string): Widget {
  const found = dashboard.widgets.filter((w) => w.properties.title === title);
  expect(found, title).toHaveLength(1);
  return found[0] as Widget;
}

/** A widget's metric lines as `{namespace, name, dimensions, stat}` (the statistic defaults to Average). */
function metricsOf(w: Widget) {
  return (w.properties.metrics ?? []).map((line) => {
    const last = line[line.length - 1];
    const options = typeof last === 'object' ? last : {};
    if ('expression' in options) return { expression: options.expression as string };
    const values = line.filter((v): v is string => typeof v === 'string');
    const [namespace, name, ...pairs] = values;
    const dimensions: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
    return { namespace, name, dimensions, stat: (options.stat as string | undefined) ?? 'Average' };
  });
}

/** The alarms of the template, by logical id. */
function alarmsOf(json: CfnTemplate): Array<[string, CfnResource]> {
  return resourcesOfType(json, 'AWS::CloudWatch::Alarm');
}

/** The alarm on a metric name and dimensions (order-free); fails when there is not exactly one. */
function alarmOn(json: CfnTemplate, metricName: string, dimensions: Record<string, unknown>): CfnResource {
  const wanted = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
  const found = alarmsOf(json).filter(([, alarm]) => {
    if (alarm.Properties.MetricName !== metricName) return false;
    const dims = (alarm.Properties.Dimensions as Array<{ Name: string; Value: unknown }>)
      .map((d) => [d.Name, d.Value] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    return JSON.stringify(dims) === wanted;
  });
  expect(found, `alarm on ${metricName} ${wanted}`).toHaveLength(1);
  return (found[0] as [string, CfnResource])[1];
}

/** `${LogicalId}` of a connector's function, as the dashboard body names it. */
function functionToken(json: CfnTemplate, name: string): string {
  return `\${${connectorFunction(json, name)[0]}}`;
}

/** The logical id of the only resource of a type whose id starts with `prefix`. */
function logicalIdOf(json: CfnTemplate, type: string, prefix: string): string {
  const found = resourcesOfType(json, type).filter(([id]) => id.startsWith(prefix));
  expect(found, `${type} ${prefix}*`).toHaveLength(1);
  return (found[0] as [string, CfnResource])[0];
}

/** The connector's resource id, as the stack builds it (`billing-api` → `BillingApi`). */
function idOf(name: string): string {
  return name
    .split(/[^A-Za-z0-9]/)
    .filter(Boolean)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

describe('ConnectorObservability on the default suite.config.ts', () => {
  let plain: Variant;
  let withTopic: Variant;

  beforeAll(async () => {
    const input = await loadDefaultSuiteInput();
    plain = variant(input);
    withTopic = variant(input, { topic: true });
  }, FIRST_SYNTH_TIMEOUT_MS);

  describe('the dashboard', () => {
    it('is one dashboard, with no physical name, opening on the alarms of the suite', () => {
      // Act
      const dashboard = dashboardOf(plain.json);
      const [, resourceOf] = resourcesOfType(plain.json, 'AWS::CloudWatch::Dashboard')[0] as [
        string,
        CfnResource,
      ];

      // Assess
      expect(resourceOf.Properties.DashboardName).toBeUndefined();
      const alarms = widget(dashboard, 'Alarms').properties.alarms ?? [];
      // 5 alarms per connector and the API's, plus each connector's existing dead-letter alarm.
      expect(alarms).toHaveLength(plain.names.length * 6 + 1);
      for (const name of plain.names) {
        const dlqAlarm = logicalIdOf(
          plain.json,
          'AWS::CloudWatch::Alarm',
          `Async${idOf(name)}QueuesDeadLetterAlarm`,
        );
        expect(alarms).toContain(`\${${dlqAlarm}.Arn}`);
      }
    });

    it('graphs calls by outcome per connector: a search over UpstreamCalls with its service, connector and outcome dimensions', () => {
      // Act
      const dashboard = dashboardOf(plain.json);

      // Assess
      for (const name of plain.names) {
        expect(metricsOf(widget(dashboard, `${name}: calls by outcome`))).toEqual([
          {
            expression: `SEARCH('{"ConnectorSuite",connector,outcome,service} MetricName="UpstreamCalls" service="${name}" connector="${name}"', 'Sum', 300)`,
          },
        ]);
      }
    });

    it('graphs upstream latency p50 and p99, retries, breaker openings and rejections per connector by service', () => {
      // Act
      const dashboard = dashboardOf(plain.json);

      // Assess
      for (const name of plain.names) {
        const service = { service: name };
        expect(metricsOf(widget(dashboard, `${name}: upstream latency per attempt (ms)`))).toEqual([
          { namespace: 'ConnectorSuite', name: 'UpstreamLatency', dimensions: service, stat: 'p50' },
          { namespace: 'ConnectorSuite', name: 'UpstreamLatency', dimensions: service, stat: 'p99' },
        ]);
        expect(metricsOf(widget(dashboard, `${name}: retries, breaker, rate limit`))).toEqual([
          { namespace: 'ConnectorSuite', name: 'UpstreamRetries', dimensions: service, stat: 'Sum' },
          { namespace: 'ConnectorSuite', name: 'CircuitBreakerOpened', dimensions: service, stat: 'Sum' },
          { namespace: 'ConnectorSuite', name: 'CircuitOpenRejections', dimensions: service, stat: 'Sum' },
          { namespace: 'ConnectorSuite', name: 'RateLimitRejections', dimensions: service, stat: 'Sum' },
        ]);
        expect(metricsOf(widget(dashboard, `${name}: idempotency and dependencies`))).toEqual([
          { namespace: 'ConnectorSuite', name: 'IdempotentReplays', dimensions: service, stat: 'Sum' },
          {
            namespace: 'ConnectorSuite',
            name: 'IdempotencyRecordFailures',
            dimensions: service,
            stat: 'Sum',
          },
          { expression: 'SUM([d0, d1, d2, d3])' },
          ...['DynamoDB', 'Secrets Manager', 'SQS', 'EventBridge'].map((dependency) => ({
            namespace: 'ConnectorSuite',
            name: 'DependencyFailures',
            dimensions: { ...service, dependency },
            stat: 'Sum',
          })),
        ]);
      }
    });

    it('graphs Lambda errors and throttles, dead-letter and inbox depth per connector', () => {
      // Act
      const dashboard = dashboardOf(plain.json);

      // Assess
      for (const name of plain.names) {
        const fn = { FunctionName: functionToken(plain.json, name) };
        expect(metricsOf(widget(dashboard, `${name}: Lambda errors and throttles`))).toEqual([
          { namespace: 'AWS/Lambda', name: 'Errors', dimensions: fn, stat: 'Sum' },
          { namespace: 'AWS/Lambda', name: 'Throttles', dimensions: fn, stat: 'Sum' },
        ]);
        const dlq = logicalIdOf(plain.json, 'AWS::SQS::Queue', `Async${idOf(name)}QueuesDeadLetterQueue`);
        const inbox = logicalIdOf(plain.json, 'AWS::SQS::Queue', `Async${idOf(name)}QueuesInbox`);
        expect(metricsOf(widget(dashboard, `${name}: queues (messages)`))).toEqual([
          {
            namespace: 'AWS/SQS',
            name: 'ApproximateNumberOfMessagesVisible',
            dimensions: { QueueName: `\${${dlq}.QueueName}` },
            stat: 'Maximum',
          },
          {
            namespace: 'AWS/SQS',
            name: 'ApproximateNumberOfMessagesVisible',
            dimensions: { QueueName: `\${${inbox}.QueueName}` },
            stat: 'Maximum',
          },
          {
            namespace: 'AWS/SQS',
            name: 'ApproximateAgeOfOldestMessage',
            dimensions: { QueueName: `\${${inbox}.QueueName}` },
            stat: 'Maximum',
          },
        ]);
      }
    });

    it("graphs the API stage's requests, 4xx and 5xx (counts and rates) and latency by ApiName and Stage", () => {
      // Prepare
      const stage = logicalIdOf(plain.json, 'AWS::ApiGateway::Stage', 'ApiDeploymentStage');
      const api = { ApiName: 'Api', Stage: `\${${stage}}` };

      // Act
      const dashboard = dashboardOf(plain.json);

      // Assess
      expect(
        resource(plain.json, logicalIdOf(plain.json, 'AWS::ApiGateway::RestApi', 'Api')).Properties.Name,
      ).toBe('Api');
      expect(metricsOf(widget(dashboard, 'API: requests, 4xx and 5xx'))).toEqual([
        { namespace: 'AWS/ApiGateway', name: 'Count', dimensions: api, stat: 'Sum' },
        { namespace: 'AWS/ApiGateway', name: '4XXError', dimensions: api, stat: 'Sum' },
        { namespace: 'AWS/ApiGateway', name: '5XXError', dimensions: api, stat: 'Sum' },
      ]);
      expect(metricsOf(widget(dashboard, 'API: 4xx and 5xx rate'))).toEqual([
        { namespace: 'AWS/ApiGateway', name: '4XXError', dimensions: api, stat: 'Average' },
        { namespace: 'AWS/ApiGateway', name: '5XXError', dimensions: api, stat: 'Average' },
      ]);
      expect(metricsOf(widget(dashboard, 'API: latency (ms)'))).toEqual([
        { namespace: 'AWS/ApiGateway', name: 'Latency', dimensions: api, stat: 'p50' },
        { namespace: 'AWS/ApiGateway', name: 'Latency', dimensions: api, stat: 'p99' },
        { namespace: 'AWS/ApiGateway', name: 'IntegrationLatency', dimensions: api, stat: 'p99' },
      ]);
    });

    it('reads only metric names the runtime emits in its namespace', () => {
      // Act
      const names = dashboardOf(plain.json)
        .widgets.flatMap(metricsOf)
        .flatMap((m) => ('namespace' in m && m.namespace === 'ConnectorSuite' ? [m.name] : []));

      // Assess
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(Object.values(METRIC)).toContain(name);
    });
  });

  describe('the alarms', () => {
    /** What every count alarm of the defaults has. */
    const COUNT_ALARM = {
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    };

    it('watch Lambda errors and throttles of each connector function', () => {
      for (const name of plain.names) {
        const fn = { Ref: connectorFunction(plain.json, name)[0] };
        for (const metric of ['Errors', 'Throttles']) {
          // Act
          const alarm = alarmOn(plain.json, metric, { FunctionName: fn });

          // Assess
          expect(alarm.Properties).toMatchObject({ Namespace: 'AWS/Lambda', ...COUNT_ALARM });
          expect(alarm.Properties.AlarmDescription).toContain(`Connector ${name}:`);
        }
      }
    });

    it('watch breaker openings and idempotency record failures by service', () => {
      for (const name of plain.names) {
        for (const metric of ['CircuitBreakerOpened', 'IdempotencyRecordFailures']) {
          // Act
          const alarm = alarmOn(plain.json, metric, { service: name });

          // Assess
          expect(alarm.Properties).toMatchObject({ Namespace: 'ConnectorSuite', ...COUNT_ALARM });
        }
      }
    });

    it('watch DependencyFailures of every dependency, summed, with the full dimension set of each', () => {
      for (const name of plain.names) {
        // Act
        const found = alarmsOf(plain.json).filter(([, alarm]) =>
          JSON.stringify(alarm.Properties.Metrics ?? []).includes('"DependencyFailures"'),
        );
        const mine = found.filter(([, alarm]) =>
          JSON.stringify(alarm.Properties.Metrics).includes(`"${name}"`),
        );

        // Assess
        expect(mine).toHaveLength(1);
        const [, alarm] = mine[0] as [string, CfnResource];
        const metrics = alarm.Properties.Metrics as Array<{
          Id: string;
          Expression?: string;
          MetricStat?: {
            Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] };
            Period: number;
            Stat: string;
          };
        }>;
        expect(metrics.find((m) => m.Expression)?.Expression).toBe('SUM([d0, d1, d2, d3])');
        const dependencies = metrics
          .filter((m) => m.MetricStat)
          .map((m) => {
            expect(m.MetricStat).toMatchObject({
              Metric: { Namespace: 'ConnectorSuite', MetricName: 'DependencyFailures' },
              Period: 300,
              Stat: 'Sum',
            });
            const dims = Object.fromEntries(
              ((m.MetricStat?.Metric.Dimensions ?? []) as Array<{ Name: string; Value: string }>).map((d) => [
                d.Name,
                d.Value,
              ]),
            );
            expect(dims.service).toBe(name);
            expect(Object.keys(dims).sort()).toEqual(['dependency', 'service']);
            return dims.dependency;
          });
        expect(dependencies.sort()).toEqual(['DynamoDB', 'EventBridge', 'SQS', 'Secrets Manager']);
        expect(alarm.Properties).toMatchObject({
          Threshold: 1,
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
    });

    it("watch the API stage's 5xx rate: above 5 % in 2 of 3 five-minute periods", () => {
      // Prepare
      const stage = logicalIdOf(plain.json, 'AWS::ApiGateway::Stage', 'ApiDeploymentStage');

      // Act
      const alarm = alarmOn(plain.json, '5XXError', { ApiName: 'Api', Stage: { Ref: stage } });

      // Assess
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        Statistic: 'Average',
        Period: 300,
        Threshold: 0.05,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('reuse the dead-letter alarm of each connector instead of making another', () => {
      // Act
      const onDepth = alarmsOf(plain.json).filter(
        ([, alarm]) => alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible',
      );

      // Assess
      expect(onDepth).toHaveLength(plain.names.length);
      for (const name of plain.names) {
        expect(
          onDepth.filter(([id]) => id.startsWith(`Async${idOf(name)}QueuesDeadLetterAlarm`)),
        ).toHaveLength(1);
      }
      expect(alarmsOf(plain.json)).toHaveLength(plain.names.length * 6 + 1);
    });

    it('point their descriptions at the runbook section for them, and have no physical names', () => {
      for (const [, alarm] of alarmsOf(plain.json)) {
        expect(alarm.Properties.AlarmName).toBeUndefined();
      }
      for (const alarm of plain.observability.alarms) {
        const description = (alarm.node.defaultChild as { alarmDescription?: string }).alarmDescription;
        expect(description).toMatch(/Runbook: connector-suite\/docs\/runbook\.md#[a-z0-9-]+$/);
      }
    });

    it('have no actions without a topic', () => {
      for (const [id, alarm] of alarmsOf(plain.json)) {
        expect(alarm.Properties.AlarmActions, id).toBeUndefined();
        expect(alarm.Properties.OKActions, id).toBeUndefined();
      }
    });

    it('notify the topic on alarm and on OK, the dead-letter alarms included, when one is given', () => {
      // Act
      const alarms = alarmsOf(withTopic.json);

      // Assess
      expect(alarms).toHaveLength(withTopic.names.length * 6 + 1);
      for (const [id, alarm] of alarms) {
        expect(alarm.Properties.AlarmActions, id).toEqual([TOPIC_ARN]);
        expect(alarm.Properties.OKActions, id).toEqual([TOPIC_ARN]);
      }
      expect(resourcesOfType(withTopic.json, 'AWS::SNS::Topic')).toEqual([]);
    });
  });
});

describe('ConnectorObservability overrides', () => {
  let overridden: Variant;

  beforeAll(() => {
    overridden = variant(twoConnectorsConfig(), {
      props: {
        metricsNamespace: 'Payments/Connectors',
        dashboard: false,
        alarms: {
          lambdaErrors: {
            threshold: 3,
            period: Duration.minutes(1),
            evaluationPeriods: 5,
            datapointsToAlarm: 3,
          },
          apiServerErrorRate: { enabled: false },
          lambdaThrottles: { enabled: false },
        },
      },
    });
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('take thresholds and periods, switch alarms and the dashboard off, and use the namespace given', () => {
    // Assess
    expect(resourcesOfType(overridden.json, 'AWS::CloudWatch::Dashboard')).toEqual([]);
    expect(overridden.observability.dashboard).toBeUndefined();
    expect(overridden.observability.apiServerErrorRateAlarm).toBeUndefined();
    expect(alarmsOf(overridden.json).filter(([, a]) => a.Properties.MetricName === 'Throttles')).toEqual([]);
    expect(alarmsOf(overridden.json).filter(([, a]) => a.Properties.MetricName === '5XXError')).toEqual([]);
    for (const name of overridden.names) {
      const errors = alarmOn(overridden.json, 'Errors', {
        FunctionName: { Ref: connectorFunction(overridden.json, name)[0] },
      });
      expect(errors.Properties).toMatchObject({
        Threshold: 3,
        Period: 60,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
      });
      const opened = alarmOn(overridden.json, 'CircuitBreakerOpened', { service: name });
      expect(opened.Properties.Namespace).toBe('Payments/Connectors');
      expect(overridden.observability.connectorAlarms.get(name)?.lambdaThrottles).toBeUndefined();
    }
  });
});

/**
 * The two-connector fixture with `payments`' breaker shared, plus `metered`, whose rate limit is
 * shared and which receives webhooks; `crm` stays per instance.
 */
function sharedStateSuite(): Record<string, unknown> {
  const config = twoConnectorsConfig();
  const [payments, crm] = config.connectors as [Record<string, unknown>, Record<string, unknown>];
  return {
    ...config,
    connectors: [
      { ...payments, circuitBreaker: { scope: 'shared' } },
      crm,
      httpConnector('metered', {
        rateLimit: { scope: 'shared' },
        webhook: { scheme: 'standardWebhooks', secret: 'metered-webhook' },
      }),
    ],
  };
}

/** The Metrics Insights query of the webhook refusal alarm, in the namespace given. */
function refusedQuery(namespace: string): string {
  return `SELECT SUM(WebhooksRefused) FROM SCHEMA("${namespace}", connector, reason, service) WHERE service = 'connector-suite-webhooks'`;
}

/** An alarm's `Metrics` as CloudFormation renders a math expression alarm. */
interface AlarmQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly Period?: number;
  readonly ReturnData?: boolean;
  readonly MetricStat?: {
    readonly Metric: {
      readonly Namespace: string;
      readonly MetricName: string;
      readonly Dimensions: Array<{ Name: string; Value: unknown }>;
    };
    readonly Period: number;
    readonly Stat: string;
  };
}

/** The alarms whose `Metrics` read `metricName`, as `[logicalId, resource, queries]`. */
function alarmsReading(json: CfnTemplate, metricName: string): Array<[string, CfnResource, AlarmQuery[]]> {
  return alarmsOf(json)
    .filter(([, alarm]) => JSON.stringify(alarm.Properties.Metrics ?? []).includes(metricName))
    .map(([id, alarm]) => [id, alarm, alarm.Properties.Metrics as AlarmQuery[]]);
}

describe('ConnectorObservability of a suite with shared state and webhooks', () => {
  let suite: Variant;

  beforeAll(() => {
    // Through the ConnectorSuite construct: it tells the construct which connectors share state.
    const { stack, suite: config } = buildSuiteApp(sharedStateSuite());
    const observability = stack.suite.observability;
    if (!observability) throw new Error('the suite made no observability');
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    suite = { stack, names: config.connectors.map((c) => c.name), observability, json };
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('alarm on SharedStateFailures of both features, by service, only for shared-scope connectors', () => {
    // Act
    const alarms = alarmsReading(suite.json, 'SharedStateFailures');

    // Assess
    const services = alarms.map(([, , queries]) => {
      expect(queries.find((q) => q.Expression)?.Expression).toBe('SUM([s0, s1])');
      const stats = queries.filter((q) => q.MetricStat);
      const dims = stats.map((q) => {
        expect(q.MetricStat).toMatchObject({
          Metric: { Namespace: 'ConnectorSuite', MetricName: 'SharedStateFailures' },
          Period: 300,
          Stat: 'Sum',
        });
        return Object.fromEntries((q.MetricStat?.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
      });
      expect(dims.map((d) => Object.keys(d).sort())).toEqual([
        ['feature', 'service'],
        ['feature', 'service'],
      ]);
      expect(dims.map((d) => d.feature)).toEqual(['circuitBreaker', 'rateLimit']);
      expect(dims[0]?.service).toBe(dims[1]?.service);
      return dims[0]?.service;
    });
    expect(services.sort()).toEqual(['metered', 'payments']);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties).toMatchObject({
        Threshold: 1,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(String(alarm.Properties.AlarmDescription)).toContain('#shared-state-failures');
    }
    expect(suite.observability.connectorAlarms.get('crm')?.sharedStateFailures).toBeUndefined();
    expect(suite.observability.connectorAlarms.get('payments')?.sharedStateFailures).toBeDefined();
  });

  it('graph SharedStateFailures per feature in the section of each shared-scope connector only', () => {
    // Act
    const dashboard = dashboardOf(suite.json);

    // Assess
    for (const name of ['payments', 'metered']) {
      expect(metricsOf(widget(dashboard, `${name}: shared state failures`))).toEqual(
        ['circuitBreaker', 'rateLimit'].map((feature) => ({
          namespace: 'ConnectorSuite',
          name: 'SharedStateFailures',
          dimensions: { service: name, feature },
          stat: 'Sum',
        })),
      );
    }
    expect(dashboard.widgets.filter((w) => w.properties.title === 'crm: shared state failures')).toEqual([]);
  });

  it('alarm on WebhooksRefused of every connector and reason: 50 or more in one 5-minute period', () => {
    // Act
    const alarms = alarmsReading(suite.json, 'WebhooksRefused');

    // Assess
    expect(alarms).toHaveLength(1);
    const [, alarm, queries] = alarms[0] as [string, CfnResource, AlarmQuery[]];
    expect(queries).toEqual([
      expect.objectContaining({
        Expression: refusedQuery('ConnectorSuite'),
        Period: 300,
        ReturnData: true,
      }),
    ]);
    expect(alarm.Properties).toMatchObject({
      Threshold: 50,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(String(alarm.Properties.AlarmDescription)).toContain('#webhooks-refused');
    expect(suite.observability.webhooksRefusedAlarm).toBeDefined();
    const statuses = widget(dashboardOf(suite.json), 'Alarms').properties.alarms ?? [];
    expect(statuses).toContain(`\${${alarms[0]?.[0]}.Arn}`);
  });
});

describe('ConnectorObservability on its own', () => {
  it('takes overrides of the shared-state and webhook refusal alarms, and switches them off', () => {
    // Prepare
    const stack = new Stack(new App(), 'Watched');
    const connectors = ['shared-one', 'alone'].map((name) => ({
      name,
      function: LambdaFunction.fromFunctionName(stack, `Fn${name}`, `fn-${name}`),
      sharedState: name === 'shared-one',
    }));
    const webhookFunction = LambdaFunction.fromFunctionName(stack, 'Webhooks', 'fn-webhooks');

    // Act
    const tuned = new ConnectorObservability(stack, 'Tuned', {
      connectors,
      webhookFunction,
      metricsNamespace: 'Payments/Connectors',
      dashboard: false,
      alarms: {
        sharedStateFailures: { threshold: 3, period: Duration.minutes(1), evaluationPeriods: 5 },
        webhooksRefused: { threshold: 200, period: Duration.minutes(10), datapointsToAlarm: 1 },
      },
    });
    const off = new ConnectorObservability(stack, 'Off', {
      connectors,
      webhookFunction,
      dashboard: false,
      alarms: { sharedStateFailures: { enabled: false }, webhooksRefused: { enabled: false } },
    });
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;

    // Assess
    const shared = alarmsReading(json, 'SharedStateFailures');
    expect(shared).toHaveLength(1);
    const [, sharedAlarm, sharedQueries] = shared[0] as [string, CfnResource, AlarmQuery[]];
    expect(sharedAlarm.Properties).toMatchObject({
      Threshold: 3,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 1,
    });
    for (const query of sharedQueries.filter((q) => q.MetricStat)) {
      expect(query.MetricStat).toMatchObject({ Metric: { Namespace: 'Payments/Connectors' }, Period: 60 });
    }
    const refused = alarmsReading(json, 'WebhooksRefused');
    expect(refused).toHaveLength(1);
    const [, refusedAlarm, refusedQueries] = refused[0] as [string, CfnResource, AlarmQuery[]];
    expect(refusedAlarm.Properties).toMatchObject({ Threshold: 200, EvaluationPeriods: 1 });
    expect(refusedQueries[0]).toMatchObject({ Expression: refusedQuery('Payments/Connectors'), Period: 600 });
    expect(tuned.webhooksRefusedAlarm).toBeDefined();
    expect(off.webhooksRefusedAlarm).toBeUndefined();
    expect(off.connectorAlarms.get('shared-one')?.sharedStateFailures).toBeUndefined();
  });

  it("splits the alarm status into widgets of at most 100 alarms (CloudWatch's limit)", () => {
    // Prepare: 17 connectors known only by their functions' names, no API: 5 × 17 = 85 alarms, and
    // 17 dead-letter alarms of their own.
    const stack = new Stack(new App(), 'Watched');
    const connectors = Array.from({ length: 17 }, (_, i) => {
      const name = `connector-${i}`;
      const deadLetterAlarm = new Alarm(stack, `DeadLetter${i}`, {
        metric: new Metric({ namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible' }),
        threshold: 1,
        evaluationPeriods: 1,
      });
      return { name, function: LambdaFunction.fromFunctionName(stack, `Fn${i}`, `fn-${i}`), deadLetterAlarm };
    });

    // Act
    new ConnectorObservability(stack, 'Observability', { connectors });
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;

    // Assess
    const widgets = dashboardOf(json).widgets.filter((w) => w.type === 'alarm');
    expect(widgets.map((w) => [w.properties.title, w.properties.alarms?.length])).toEqual([
      ['Alarms 1 to 100 of 102', 100],
      ['Alarms 101 to 102 of 102', 2],
    ]);
    expect(alarmsOf(json)).toHaveLength(102);
  });
});

describe('the runbook', () => {
  it('has a section for every alarm the descriptions link to', () => {
    // Prepare
    const runbook = readFileSync(path.join(PROJECT_ROOT, 'docs/runbook.md'), 'utf8');
    // GitHub's anchors: lower case, punctuation other than '-' dropped, spaces as '-'.
    const anchors = [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
      (m[1] as string)
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    );

    // Assess
    for (const section of Object.values(RUNBOOK_SECTIONS)) expect(anchors).toContain(section);
  });
});

describe('cdk-nag with ConnectorObservability', () => {
  it.for(['iam', 'apiKey'] as const)(
    'leaves both packs without findings on the two-connector fixture, with an alarm topic (%s)',
    { timeout: FIRST_SYNTH_TIMEOUT_MS },
    (authorization) => {
      // Prepare
      const fixture = twoConnectorsConfig();
      const config = { ...fixture, api: { ...(fixture.api as object | undefined), authorization } };

      // Act
      const run = synthWithNag(config, {
        stackProps: { observability: false },
        modify: (stack) => addObservability(stack, { topic: true }),
      });

      // Assess
      expect(run.synthError).toBeUndefined();
      expect(run.findings).toEqual([]);
    },
  );

  it(
    'leaves both packs without findings on a suite with shared state and webhooks, with an alarm topic',
    () => {
      // Act: the suite's own observability, with its shared-state and webhook refusal alarms
      const run = synthWithNag(sharedStateSuite(), {
        modify: (stack) => {
          const topic = Topic.fromTopicArn(stack, 'AlarmTopic', TOPIC_ARN);
          expect(stack.suite.observability?.webhooksRefusedAlarm).toBeDefined();
          stack.suite.observability?.webhooksRefusedAlarm?.addAlarmAction(new SnsAction(topic));
        },
      });

      // Assess
      expect(run.synthError).toBeUndefined();
      expect(run.findings).toEqual([]);
    },
    FIRST_SYNTH_TIMEOUT_MS,
  );

  it(
    'leaves both packs without findings on the default suite.config.ts, in prod',
    async () => {
      // Prepare
      const input = await loadDefaultSuiteInput();

      // Act
      const run = synthWithNag(input, {
        stage: 'prod',
        stackProps: { observability: false },
        modify: (stack) => addObservability(stack, { topic: true }),
      });

      // Assess
      expect(run.synthError).toBeUndefined();
      expect(run.findings).toEqual([]);
    },
    FIRST_SYNTH_TIMEOUT_MS,
  );
});
