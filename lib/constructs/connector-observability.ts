/**
 * What operators watch a suite with: one CloudWatch dashboard and the alarms behind it (issue 10,
 * item 4). The metrics are the runtime's own (`METRIC` in `functions/shared/powertools.ts`, EMF through
 * Powertools) and AWS's for Lambda, SQS and API Gateway; what each alarm means and what to do about
 * it is in `docs/runbook.md`.
 */
import { Duration } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  type AlarmBase,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { resourceId } from '../../functions/shared/config.js';
import { DEPENDENCIES, METRIC } from '../../functions/shared/powertools.js';
import { WEBHOOK_METRIC, WEBHOOK_SERVICE_NAME } from '../../functions/webhooks/contract.js';

/**
 * The `feature` dimension values of `SharedStateFailures` (`functions/shared/http/shared-circuit-breaker.ts`,
 * `shared-rate-limit.ts`).
 */
const SHARED_STATE_FEATURES = ['circuitBreaker', 'rateLimit'] as const;

/** The most alarms one CloudWatch alarm status widget shows. */
const MAX_ALARMS_PER_WIDGET = 100;

/** One connector as {@link ConnectorObservability} watches it. */
export interface ObservedConnector {
  /** The connector's name (`connectors[].name`): the `connector` dimension of `UpstreamCalls`. */
  readonly name: string;
  /** The connector's function: its `Errors` and `Throttles`. */
  readonly function: IFunction;
  /**
   * The `service` dimension Powertools adds to every metric of the connector: its
   * `POWERTOOLS_SERVICE_NAME`, which the `Connector` construct sets to the connector's name.
   * @default `name`
   */
  readonly serviceName?: string;
  /**
   * The connector's dead-letter queue: its depth on the dashboard.
   * @default none (no dead-letter queue graph)
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * The connector's inbox: its depth and the age of its oldest message on the dashboard.
   * @default none (no inbox graph)
   */
  readonly inbox?: IQueue;
  /**
   * The alarm that already watches the dead-letter queue (`ConnectorQueues.deadLetterAlarm`). It is
   * not duplicated: it is shown on the dashboard and gets the {@link ConnectorObservabilityProps.alarmTopic}
   * actions like the alarms made here.
   * @default none
   */
  readonly deadLetterAlarm?: AlarmBase;
  /**
   * Whether the connector's circuit breaker or rate limit has `scope: 'shared'` (docs/fleet.md): its
   * `SharedStateFailures` are then alarmed and graphed. The `ConnectorSuite` construct sets it from the
   * connector's config.
   * @default false (no shared-state alarm or graph)
   */
  readonly sharedState?: boolean;
}

/**
 * How one kind of alarm is made. Every field defaults to what {@link ALARM_DEFAULTS} says for that
 * alarm; the alarm goes off when `datapointsToAlarm` of the last `evaluationPeriods` periods of
 * `period` breach `threshold`.
 */
export interface ObservabilityAlarmOptions {
  /**
   * Make this alarm at all.
   * @default true
   */
  readonly enabled?: boolean;
  /** The threshold, in the metric's unit (a count, or a fraction for a rate). */
  readonly threshold?: number;
  /** The length of one evaluated period. */
  readonly period?: Duration;
  /** How many periods are evaluated. */
  readonly evaluationPeriods?: number;
  /** How many of them must breach. */
  readonly datapointsToAlarm?: number;
}

/** The alarms {@link ConnectorObservability} makes, each overridable or switched off. */
export interface ObservabilityAlarms {
  /**
   * Per connector: `AWS/Lambda` `Errors` (Sum). A connector answers its errors in the contract's
   * envelope, so a Lambda error is a crash, a timeout or an out-of-memory.
   * @default threshold 1 in one 5-minute period
   */
  readonly lambdaErrors?: ObservabilityAlarmOptions;
  /**
   * Per connector: `AWS/Lambda` `Throttles` (Sum).
   * @default threshold 1 in one 5-minute period
   */
  readonly lambdaThrottles?: ObservabilityAlarmOptions;
  /**
   * Per connector: `CircuitBreakerOpened` (Sum): an instance's breaker opened.
   * @default threshold 1 in one 5-minute period
   */
  readonly circuitBreakerOpened?: ObservabilityAlarmOptions;
  /**
   * Per connector: `DependencyFailures` (Sum over its `dependency` dimension: DynamoDB, Secrets
   * Manager, SQS, EventBridge): a failure, throttle or timeout of one of the suite's own AWS
   * dependencies, counted once where it arises (the idempotency store before the call included).
   * @default threshold 1 in one 5-minute period
   */
  readonly dependencyUnavailable?: ObservabilityAlarmOptions;
  /**
   * Per connector: `IdempotencyRecordFailures` (Sum): idempotency records not written after the
   * operation ran, the one window where a duplicate may run again (docs/errors-and-retries.md, Idempotency).
   * @default threshold 1 in one 5-minute period
   */
  readonly idempotencyRecordFailures?: ObservabilityAlarmOptions;
  /**
   * Per connector with {@link ObservedConnector.sharedState}: `SharedStateFailures` (Sum over its
   * `feature` dimension, `circuitBreaker` and `rateLimit`, with `service`): requests to the fleet's
   * shared state in the idempotency table failed, and instances decide alone (docs/fleet.md, How it fails).
   * @default threshold 1 in one 5-minute period
   */
  readonly sharedStateFailures?: ObservabilityAlarmOptions;
  /**
   * For the webhook function: `WebhooksRefused` (Sum over every `connector` and `reason`, `service`
   * `connector-suite-webhooks`, through a CloudWatch Metrics Insights query). A rotated signing secret
   * not yet deployed, or a wrong `publicUrl`, refuses every genuine delivery. The default lets a few
   * stray probes of the public URL pass: anyone can POST to it, and scanners do, while a vendor with
   * a broken route retries every delivery it sends.
   * @default threshold 50 in one 5-minute period
   */
  readonly webhooksRefused?: ObservabilityAlarmOptions;
  /**
   * For the API stage: `AWS/ApiGateway` `5XXError` (Average, the fraction of requests answered 5xx).
   * @default threshold 0.05 (above 5 %) in 2 of 3 5-minute periods
   */
  readonly apiServerErrorRate?: ObservabilityAlarmOptions;
}

/** The default of each alarm: threshold, period, evaluation periods and datapoints to alarm. */
export const ALARM_DEFAULTS: Readonly<
  Record<keyof ObservabilityAlarms, Required<Omit<ObservabilityAlarmOptions, 'enabled'>>>
> = {
  lambdaErrors: { threshold: 1, period: Duration.minutes(5), evaluationPeriods: 1, datapointsToAlarm: 1 },
  lambdaThrottles: { threshold: 1, period: Duration.minutes(5), evaluationPeriods: 1, datapointsToAlarm: 1 },
  circuitBreakerOpened: {
    threshold: 1,
    period: Duration.minutes(5),
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
  },
  dependencyUnavailable: {
    threshold: 1,
    period: Duration.minutes(5),
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
  },
  idempotencyRecordFailures: {
    threshold: 1,
    period: Duration.minutes(5),
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
  },
  sharedStateFailures: {
    threshold: 1,
    period: Duration.minutes(5),
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
  },
  webhooksRefused: {
    threshold: 50,
    period: Duration.minutes(5),
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
  },
  apiServerErrorRate: {
    threshold: 0.05,
    period: Duration.minutes(5),
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
  },
};

/** The section of `docs/runbook.md` for each alarm (and for the dead-letter alarm). */
export const RUNBOOK_SECTIONS = {
  deadLetter: 'dead-letter-queue-not-empty',
  lambdaErrors: 'lambda-errors',
  lambdaThrottles: 'lambda-throttles',
  circuitBreakerOpened: 'circuit-breaker-opened',
  dependencyUnavailable: 'dependency-unavailable',
  idempotencyRecordFailures: 'idempotency-record-failures',
  sharedStateFailures: 'shared-state-failures',
  webhooksRefused: 'webhooks-refused',
  apiServerErrorRate: 'api-5xx-rate',
} as const satisfies Record<keyof ObservabilityAlarms | 'deadLetter', string>;

/** Props of {@link ConnectorObservability}. */
export interface ConnectorObservabilityProps {
  /** The connectors to watch, each with its function (and, when it has them, its queues and dead-letter alarm). */
  readonly connectors: readonly ObservedConnector[];
  /**
   * The REST API in front of the connectors: its requests, 4xx, 5xx and latency on the dashboard,
   * and the 5xx-rate alarm. Metrics are read per API name and stage (`ApiName`, `Stage`), which
   * API Gateway publishes for every stage.
   * @default none (no API graphs and no 5xx-rate alarm)
   */
  readonly api?: IRestApi;
  /**
   * The stage of {@link api} to watch. An imported `IRestApi` has no deployment stage: give it here.
   * @default `api.deploymentStage.stageName`
   */
  readonly apiStageName?: string;
  /**
   * The webhook route's function (`ConnectorWebhooks.function`): its Lambda errors alarmed like a
   * connector's, its refused deliveries alarmed ({@link ObservabilityAlarms.webhooksRefused}), and the
   * deliveries accepted, refused and duplicated on the dashboard.
   * @default none (no webhook route)
   */
  readonly webhookFunction?: IFunction;
  /**
   * The CloudWatch namespace the connectors publish to (`POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'ConnectorSuite'
   */
  readonly metricsNamespace?: string;
  /**
   * The topic every alarm notifies, on alarm and back to OK: the alarms made here and each
   * connector's {@link ObservedConnector.deadLetterAlarm}. The topic's policy must let
   * `cloudwatch.amazonaws.com` publish (and, for a topic encrypted with a customer managed key,
   * the key's policy must let CloudWatch use it).
   * @default none (alarms change state without notifying anyone)
   */
  readonly alarmTopic?: ITopic;
  /**
   * The alarms, each overridable or switched off (`{ enabled: false }`).
   * @default every alarm, with {@link ALARM_DEFAULTS}
   */
  readonly alarms?: ObservabilityAlarms;
  /**
   * Make the dashboard.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * The dashboard's name. A name is a physical name: two stacks with the same one collide.
   * @default a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * The period of the dashboard's graphs.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
  /**
   * Where the runbook is read; alarm descriptions point to its sections (`<runbookUrl>#lambda-errors`).
   * @default 'connector-suite/docs/runbook.md'
   */
  readonly runbookUrl?: string;
}

/** The alarms made for one connector (those switched off are absent). */
export interface ConnectorAlarmSet {
  /** On `AWS/Lambda` `Errors` of the connector's function. */
  readonly lambdaErrors?: Alarm;
  /** On `AWS/Lambda` `Throttles` of the connector's function. */
  readonly lambdaThrottles?: Alarm;
  /** On `CircuitBreakerOpened` by `service`. */
  readonly circuitBreakerOpened?: Alarm;
  /** On `UpstreamCalls` by `service`, `connector` and `outcome` `DEPENDENCY_UNAVAILABLE`. */
  readonly dependencyUnavailable?: Alarm;
  /** On `IdempotencyRecordFailures` by `service`. */
  readonly idempotencyRecordFailures?: Alarm;
  /** On `SharedStateFailures` by `service` and `feature`, summed; only with {@link ObservedConnector.sharedState}. */
  readonly sharedStateFailures?: Alarm;
}

/**
 * A CloudWatch dashboard and alarms for the connectors of a suite: per connector, calls by outcome
 * (`UpstreamCalls` by `outcome`), upstream latency p50/p99 (`UpstreamLatency`), retries, breaker
 * openings, open-breaker and rate-limit rejections, idempotent replays and record failures, Lambda
 * errors and throttles, dead-letter and inbox depth; for the API stage, requests, 4xx, 5xx and
 * latency. Alarms per connector on Lambda errors, Lambda throttles, breaker openings and dependency
 * failures (`UpstreamCalls` outcome `DEPENDENCY_UNAVAILABLE`, `IdempotencyRecordFailures`), and on
 * the API's 5xx rate; per connector with {@link ObservedConnector.sharedState}, on `SharedStateFailures`
 * (graphed too); for the webhook function, on its Lambda errors and on `WebhooksRefused`; every alarm
 * treats missing data as not breaching (the runtime publishes a count only when something happened). With an {@link ConnectorObservabilityProps.alarmTopic}, all of
 * them and the connectors' existing dead-letter alarms notify it. No physical names unless given.
 *
 * It takes what it watches as props and creates nothing but the dashboard and the alarms.
 */
export class ConnectorObservability extends Construct {
  /** The dashboard, unless switched off. */
  readonly dashboard: Dashboard | undefined;
  /** The alarms made for each connector, by connector name. */
  readonly connectorAlarms: ReadonlyMap<string, ConnectorAlarmSet>;
  /** The alarm on the webhook function's Lambda errors, when there is one and `lambdaErrors` is on. */
  readonly webhookLambdaErrorsAlarm: Alarm | undefined;
  /** The alarm on `WebhooksRefused`, when there is a webhook function and `webhooksRefused` is on. */
  readonly webhooksRefusedAlarm: Alarm | undefined;
  /** The API's 5xx-rate alarm, when there is an API and the alarm is on. */
  readonly apiServerErrorRateAlarm: Alarm | undefined;
  /** Every alarm made here (not the dead-letter alarms, which belong to the connectors' queues). */
  readonly alarms: readonly Alarm[];

  readonly #namespace: string;
  readonly #period: Duration;
  readonly #runbookUrl: string;

  constructor(scope: Construct, id: string, props: ConnectorObservabilityProps) {
    super(scope, id);
    this.#namespace = props.metricsNamespace ?? 'ConnectorSuite';
    this.#period = props.period ?? Duration.minutes(5);
    this.#runbookUrl = props.runbookUrl ?? 'connector-suite/docs/runbook.md';
    const alarmOptions = props.alarms ?? {};
    const all: Alarm[] = [];

    const alarm = (
      kind: keyof ObservabilityAlarms,
      alarmId: string,
      metric: Metric | MathExpression,
      description: string,
      comparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ): Alarm | undefined => {
      const options = alarmOptions[kind];
      if (options?.enabled === false) return undefined;
      const settings = { ...ALARM_DEFAULTS[kind], ...withoutUndefined(options) };
      const made = new Alarm(this, alarmId, {
        alarmDescription: `${description} Runbook: ${this.#runbookUrl}#${RUNBOOK_SECTIONS[kind]}`,
        metric: metric.with({ period: settings.period }),
        threshold: settings.threshold,
        evaluationPeriods: settings.evaluationPeriods,
        datapointsToAlarm: settings.datapointsToAlarm,
        comparisonOperator,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      all.push(made);
      return made;
    };

    const connectorAlarms = new Map<string, ConnectorAlarmSet>();
    for (const connector of props.connectors) {
      const id = resourceId(connector.name);
      const who = `Connector ${connector.name}:`;
      connectorAlarms.set(connector.name, {
        lambdaErrors: alarm(
          'lambdaErrors',
          `${id}LambdaErrorsAlarm`,
          connector.function.metricErrors({ statistic: Stats.SUM }),
          `${who} its function failed (a crash, a timeout or out of memory, not an error answered in the contract's envelope).`,
        ),
        lambdaThrottles: alarm(
          'lambdaThrottles',
          `${id}LambdaThrottlesAlarm`,
          connector.function.metricThrottles({ statistic: Stats.SUM }),
          `${who} Lambda throttled invocations of its function (account or reserved concurrency used up).`,
        ),
        circuitBreakerOpened: alarm(
          'circuitBreakerOpened',
          `${id}CircuitBreakerOpenedAlarm`,
          this.#connectorMetric(connector, METRIC.circuitBreakerOpened, Stats.SUM),
          `${who} its circuit breaker opened: the vendor failed more than the breaker's failure rate allows, and calls answer CIRCUIT_BREAKER_OPEN.`,
        ),
        dependencyUnavailable: alarm(
          'dependencyUnavailable',
          `${id}DependencyUnavailableAlarm`,
          this.#dependencyFailures(connector),
          `${who} one of the suite's own AWS dependencies (the idempotency table in DynamoDB, its secret in Secrets Manager, its queues in SQS, the bus in EventBridge) failed, was throttled or timed out; calls answered DEPENDENCY_UNAVAILABLE and events were put back.`,
        ),
        idempotencyRecordFailures: alarm(
          'idempotencyRecordFailures',
          `${id}IdempotencyRecordFailuresAlarm`,
          this.#connectorMetric(connector, METRIC.idempotencyRecordFailures, Stats.SUM),
          `${who} idempotency records were not written after the operation ran; until one is, a duplicate of that request may run again.`,
        ),
        ...(connector.sharedState
          ? {
              sharedStateFailures: alarm(
                'sharedStateFailures',
                `${id}SharedStateFailuresAlarm`,
                this.#sharedStateFailures(connector),
                `${who} requests to the fleet's shared circuit breaker or rate limit in the idempotency table failed; instances fall back to per-instance decisions (docs/fleet.md).`,
              ),
            }
          : {}),
      });
    }
    this.connectorAlarms = connectorAlarms;
    this.webhookLambdaErrorsAlarm = props.webhookFunction
      ? alarm(
          'lambdaErrors',
          'WebhooksLambdaErrorsAlarm',
          props.webhookFunction.metricErrors({ statistic: Stats.SUM }),
          'Webhooks: the webhook function failed (a crash, a timeout or out of memory); vendors retry their deliveries, but keep failing ones only for their retry window.',
        )
      : undefined;
    this.webhooksRefusedAlarm = props.webhookFunction
      ? alarm(
          'webhooksRefused',
          'WebhooksRefusedAlarm',
          this.#webhooksRefused(),
          'Webhooks: many deliveries were refused (bad signature, stale timestamp, unknown connector, ...): a rotated signing secret not yet deployed or a wrong publicUrl refuses every genuine delivery.',
        )
      : undefined;

    const api = props.api && {
      name: props.api.restApiName,
      stage: props.apiStageName ?? props.api.deploymentStage.stageName,
    };
    this.apiServerErrorRateAlarm = api
      ? alarm(
          'apiServerErrorRate',
          'ApiServerErrorRateAlarm',
          this.#apiMetric(api, '5XXError', Stats.AVERAGE),
          'The API answered more than the threshold fraction of its requests with 5xx: connectors answering UPSTREAM_ERROR, API_TIMEOUT, CIRCUIT_BREAKER_OPEN, DEPENDENCY_UNAVAILABLE, CONFIGURATION_ERROR or INTERNAL_ERROR, or API Gateway failing itself.',
          ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
      : undefined;
    this.alarms = all;

    if (props.alarmTopic) {
      const action = new SnsAction(props.alarmTopic);
      const notified: AlarmBase[] = [
        ...all,
        ...props.connectors.flatMap((c) => (c.deadLetterAlarm ? [c.deadLetterAlarm] : [])),
      ];
      for (const each of notified) {
        each.addAlarmAction(action);
        each.addOkAction(action);
      }
    }

    this.dashboard =
      props.dashboard === false
        ? undefined
        : this.#buildDashboard(props, api, [
            ...all,
            ...props.connectors.flatMap((c) => (c.deadLetterAlarm ? [c.deadLetterAlarm] : [])),
          ]);
  }

  #buildDashboard(
    props: ConnectorObservabilityProps,
    api: { name: string; stage: string } | undefined,
    alarms: readonly AlarmBase[],
  ): Dashboard {
    const dashboard = new Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# Connector Suite\nCalls, latency, resilience and queues of each connector (namespace \`${this.#namespace}\`). What each alarm means and what to do: ${this.#runbookUrl}.`,
        width: 24,
        height: 2,
      }),
    );
    // An alarm status widget shows at most 100 alarms (CloudWatch's limit): one widget per 100.
    for (let first = 0; first < alarms.length; first += MAX_ALARMS_PER_WIDGET) {
      dashboard.addWidgets(
        new AlarmStatusWidget({
          title:
            alarms.length <= MAX_ALARMS_PER_WIDGET
              ? 'Alarms'
              : `Alarms ${first + 1} to ${Math.min(alarms.length, first + MAX_ALARMS_PER_WIDGET)} of ${alarms.length}`,
          alarms: alarms.slice(first, first + MAX_ALARMS_PER_WIDGET),
          width: 24,
          height: 4,
        }),
      );
    }
    if (api) {
      dashboard.addWidgets(
        new GraphWidget({
          title: 'API: requests, 4xx and 5xx',
          left: [
            this.#apiMetric(api, 'Count', Stats.SUM, 'requests'),
            this.#apiMetric(api, '4XXError', Stats.SUM, '4xx'),
            this.#apiMetric(api, '5XXError', Stats.SUM, '5xx'),
          ],
          width: 8,
        }),
        new GraphWidget({
          title: 'API: 4xx and 5xx rate',
          left: [
            this.#apiMetric(api, '4XXError', Stats.AVERAGE, '4xx rate'),
            this.#apiMetric(api, '5XXError', Stats.AVERAGE, '5xx rate'),
          ],
          leftYAxis: { min: 0, max: 1 },
          width: 8,
        }),
        new GraphWidget({
          title: 'API: latency (ms)',
          left: [
            this.#apiMetric(api, 'Latency', Stats.p(50), 'p50'),
            this.#apiMetric(api, 'Latency', Stats.p(99), 'p99'),
            this.#apiMetric(api, 'IntegrationLatency', Stats.p(99), 'integration p99'),
          ],
          width: 8,
        }),
      );
    }
    if (props.webhookFunction) {
      const fn = props.webhookFunction;
      const deliveries = (metricName: string, dimensions: string) =>
        new MathExpression({
          expression: `SEARCH('{${searchTerm(this.#namespace)},${dimensions}} MetricName=${searchTerm(metricName)} service=${searchTerm(WEBHOOK_SERVICE_NAME)}', 'Sum', ${this.#period.toSeconds()})`,
          usingMetrics: {},
          label: '',
          period: this.#period,
        });
      dashboard.addWidgets(
        new TextWidget({ markdown: '## Webhooks', width: 24, height: 1 }),
        new GraphWidget({
          title: 'webhooks: accepted and duplicates, by connector',
          left: [
            deliveries(WEBHOOK_METRIC.accepted, 'connector,service'),
            deliveries(WEBHOOK_METRIC.duplicates, 'connector,service'),
          ],
          width: 8,
        }),
        new GraphWidget({
          title: 'webhooks: refused, by connector and reason',
          left: [deliveries(WEBHOOK_METRIC.refused, 'connector,reason,service')],
          stacked: true,
          width: 8,
        }),
        new GraphWidget({
          title: 'webhooks: Lambda errors and throttles',
          left: [
            fn.metricErrors({ statistic: Stats.SUM, period: this.#period, label: 'errors' }),
            fn.metricThrottles({ statistic: Stats.SUM, period: this.#period, label: 'throttles' }),
          ],
          width: 8,
        }),
      );
    }
    for (const connector of props.connectors) {
      dashboard.addWidgets(
        new TextWidget({ markdown: `## Connector ${connector.name}`, width: 24, height: 1 }),
      );
      dashboard.addWidgets(
        new GraphWidget({
          title: `${connector.name}: calls by outcome`,
          left: [this.#callsByOutcome(connector)],
          stacked: true,
          width: 8,
        }),
        new GraphWidget({
          title: `${connector.name}: upstream latency per attempt (ms)`,
          left: [
            this.#connectorMetric(connector, METRIC.upstreamLatency, Stats.p(50), 'p50'),
            this.#connectorMetric(connector, METRIC.upstreamLatency, Stats.p(99), 'p99'),
          ],
          width: 8,
        }),
        new GraphWidget({
          title: `${connector.name}: retries, breaker, rate limit`,
          left: [
            this.#connectorMetric(connector, METRIC.upstreamRetries, Stats.SUM, 'retries'),
            this.#connectorMetric(connector, METRIC.circuitBreakerOpened, Stats.SUM, 'breaker openings'),
            this.#connectorMetric(
              connector,
              METRIC.circuitOpenRejections,
              Stats.SUM,
              'open-breaker rejections',
            ),
            this.#connectorMetric(connector, METRIC.rateLimitRejections, Stats.SUM, 'rate-limit rejections'),
          ],
          width: 8,
        }),
      );
      const queueMetrics: IMetric[] = [];
      if (connector.deadLetterQueue) {
        queueMetrics.push(
          connector.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: Stats.MAXIMUM,
            period: this.#period,
            label: 'dead-letter queue depth',
          }),
        );
      }
      if (connector.inbox) {
        queueMetrics.push(
          connector.inbox.metricApproximateNumberOfMessagesVisible({
            statistic: Stats.MAXIMUM,
            period: this.#period,
            label: 'inbox depth',
          }),
        );
      }
      dashboard.addWidgets(
        new GraphWidget({
          title: `${connector.name}: idempotency and dependencies`,
          left: [
            this.#connectorMetric(connector, METRIC.idempotentReplays, Stats.SUM, 'idempotent replays'),
            this.#connectorMetric(connector, METRIC.idempotencyRecordFailures, Stats.SUM, 'record failures'),
            this.#dependencyFailures(connector),
          ],
          width: 8,
        }),
        new GraphWidget({
          title: `${connector.name}: Lambda errors and throttles`,
          left: [
            connector.function.metricErrors({ statistic: Stats.SUM, period: this.#period, label: 'errors' }),
            connector.function.metricThrottles({
              statistic: Stats.SUM,
              period: this.#period,
              label: 'throttles',
            }),
          ],
          width: 8,
        }),
        new GraphWidget({
          title: `${connector.name}: queues (messages)`,
          left: queueMetrics,
          ...(connector.inbox
            ? {
                right: [
                  connector.inbox.metricApproximateAgeOfOldestMessage({
                    statistic: Stats.MAXIMUM,
                    period: this.#period,
                    label: 'inbox oldest message (s)',
                  }),
                ],
              }
            : {}),
          width: 8,
        }),
      );
      if (connector.sharedState) {
        dashboard.addWidgets(
          new GraphWidget({
            title: `${connector.name}: shared state failures`,
            left: SHARED_STATE_FEATURES.map((feature) => this.#sharedStateMetric(connector, feature)),
            stacked: true,
            width: 8,
          }),
        );
      }
    }
    return dashboard;
  }

  /** `SharedStateFailures` of one `feature`, with the `{service, feature}` dimension set it is emitted with. */
  #sharedStateMetric(connector: ObservedConnector, feature: (typeof SHARED_STATE_FEATURES)[number]): Metric {
    return new Metric({
      namespace: this.#namespace,
      metricName: METRIC.sharedStateFailures,
      dimensionsMap: { service: connector.serviceName ?? connector.name, feature },
      statistic: Stats.SUM,
      period: this.#period,
      label: feature === 'circuitBreaker' ? 'circuit breaker' : 'rate limit',
    });
  }

  /** `SharedStateFailures` of both features, summed. */
  #sharedStateFailures(connector: ObservedConnector): MathExpression {
    const usingMetrics = Object.fromEntries(
      SHARED_STATE_FEATURES.map((feature, i) => [`s${i}`, this.#sharedStateMetric(connector, feature)]),
    );
    return new MathExpression({
      expression: `SUM([${Object.keys(usingMetrics).join(', ')}])`,
      usingMetrics,
      label: 'shared state failures',
      period: this.#period,
    });
  }

  /**
   * `WebhooksRefused` of every connector and reason, summed: a Metrics Insights query, since the
   * `reason` and `connector` values are many and appear only when they happen (and a math expression
   * in an alarm takes at most 10 metrics).
   */
  #webhooksRefused(): MathExpression {
    // A CloudWatch namespace has no quotes in it (letters, digits, `.-_/#:` and spaces).
    return new MathExpression({
      expression: `SELECT SUM(${WEBHOOK_METRIC.refused}) FROM SCHEMA("${this.#namespace}", connector, reason, service) WHERE service = '${WEBHOOK_SERVICE_NAME}'`,
      usingMetrics: {},
      label: 'webhook deliveries refused',
      period: this.#period,
    });
  }

  /** A metric of the connector's `{service}` dimension set: every count and latency but `UpstreamCalls`. */
  #connectorMetric(
    connector: ObservedConnector,
    metricName: string,
    statistic: string,
    label?: string,
  ): Metric {
    return new Metric({
      namespace: this.#namespace,
      metricName,
      dimensionsMap: { service: connector.serviceName ?? connector.name },
      statistic,
      period: this.#period,
      ...(label ? { label } : {}),
    });
  }

  /** `DependencyFailures` of every dependency, summed: one metric per `{service, dependency}` set. */
  #dependencyFailures(connector: ObservedConnector): MathExpression {
    const service = connector.serviceName ?? connector.name;
    const usingMetrics = Object.fromEntries(
      DEPENDENCIES.map((dependency, i) => [
        `d${i}`,
        new Metric({
          namespace: this.#namespace,
          metricName: METRIC.dependencyFailures,
          dimensionsMap: { service, dependency },
          statistic: Stats.SUM,
          period: this.#period,
        }),
      ]),
    );
    return new MathExpression({
      expression: `SUM([${Object.keys(usingMetrics).join(', ')}])`,
      usingMetrics,
      label: 'dependency failures',
      period: this.#period,
    });
  }

  /**
   * `UpstreamCalls` of every outcome the connector has had, one line each: a CloudWatch search, since
   * outcomes are error codes that appear only when they happen.
   */
  #callsByOutcome(connector: ObservedConnector): MathExpression {
    const service = connector.serviceName ?? connector.name;
    const seconds = this.#period.toSeconds();
    return new MathExpression({
      expression: `SEARCH('{${searchTerm(this.#namespace)},connector,outcome,service} MetricName=${searchTerm(METRIC.upstreamCalls)} service=${searchTerm(service)} connector=${searchTerm(connector.name)}', 'Sum', ${seconds})`,
      usingMetrics: {},
      label: '',
      period: this.#period,
    });
  }

  #apiMetric(
    api: { name: string; stage: string },
    metricName: string,
    statistic: string,
    label?: string,
  ): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiName: api.name, Stage: api.stage },
      statistic,
      period: this.#period,
      ...(label ? { label } : {}),
    });
  }
}

/** A value quoted for a CloudWatch search expression: in double quotes, `"` and `\` escaped. */
function searchTerm(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `options` without its undefined fields, so that they do not override the defaults. */
function withoutUndefined<T extends object>(options: T | undefined): Partial<T> {
  if (!options) return {};
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
