/**
 * A connector's queues on the asynchronous path (docs/design.md §2): the inbox its request rule delivers to
 * and its event source mapping reads, the dead-letter queue behind it, and an alarm on the latter.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type ConnectorConfig,
  inboxRetentionSeconds,
  inboxVisibilitySeconds,
} from '../../functions/shared/config.js';

/** The connector's `async` settings (defaults applied by the config schema). */
export type ConnectorAsyncSettings = ConnectorConfig['async'];

/** Retention of a dead letter: 14 days, the most SQS keeps a message. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/** The least visibility timeout of an inbox: the SQS default. */
export const MIN_INBOX_VISIBILITY = Duration.seconds(30);

/**
 * The visibility timeout of an inbox read by a function with `functionTimeout`: six times that
 * timeout (what AWS advises for a Lambda event source, so a batch that is retried after a throttle
 * or a timeout is not delivered again while still running), at least 30 seconds, in whole seconds
 * (SQS counts whole seconds only; a fraction is rounded up).
 */
export function inboxVisibilityTimeout(functionTimeout: Duration): Duration {
  // The same rule as the local inbox's (functions/shared/config.ts), so both hide a message alike.
  return Duration.seconds(inboxVisibilitySeconds(functionTimeout.toSeconds({ integral: false })));
}

/** Props of {@link ConnectorQueues}. */
export interface ConnectorQueuesProps {
  /** The connector's name, for the alarm's description. */
  readonly connectorName: string;
  /**
   * The connector's `async` settings: `maxReceiveCount` becomes the inbox's redrive policy, and
   * with `backoffMaxSeconds` and `maxBatchingWindowSeconds` sizes the inbox's retention (see
   * `inboxRetentionSeconds` in `functions/shared/config.ts`).
   * @default the schema's defaults (`maxReceiveCount` 5, `backoffMaxSeconds` 900, `maxBatchingWindowSeconds` 0)
   */
  readonly async?: Pick<
    ConnectorAsyncSettings,
    'maxReceiveCount' | 'backoffMaxSeconds' | 'maxBatchingWindowSeconds'
  >;
  /**
   * The timeout of the function that reads the inbox; the inbox's visibility timeout and retention
   * are derived from it.
   */
  readonly functionTimeout: Duration;
  /**
   * What happens to both queues (and the messages in them) when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Overrides of the inbox's props, applied over the defaults (SSE-SQS, TLS only, the visibility
   * timeout and retention derived above). Its dead-letter queue and `maxReceiveCount` come from
   * the connector's settings and cannot be overridden.
   * @default none
   */
  readonly inboxProps?: Partial<QueueProps>;
  /**
   * Overrides of the dead-letter queue's props, applied over the defaults (SSE-SQS, TLS only,
   * 14 days' retention).
   * @default none
   */
  readonly deadLetterQueueProps?: Partial<QueueProps>;
}

/**
 * The inbox and dead-letter queue of one connector, both encrypted with SQS-managed keys (SSE-SQS,
 * so neither EventBridge nor the function needs a KMS grant) and refusing requests that are not
 * TLS. The inbox keeps a message as long as the connector's settings may need it (at least 4
 * days, at most 14). The inbox's redrive policy moves a message to the dead-letter queue after
 * `maxReceiveCount` receives, a backstop behind the runtime, which dead-letters a failing event
 * itself with its error. A CloudWatch alarm fires when the dead-letter queue holds any message. No
 * physical names, so stages and copies deploy side by side.
 */
export class ConnectorQueues extends Construct {
  /** The queue the connector's request rule delivers to and its event source mapping reads. */
  readonly inbox: Queue;
  /** Where an event ends that could not be handled: by the runtime, by the redrive policy, or by EventBridge. */
  readonly deadLetterQueue: Queue;
  /** In alarm while the dead-letter queue holds a message. */
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ConnectorQueuesProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const settings = {
      maxReceiveCount: props.async?.maxReceiveCount ?? 5,
      backoffMaxSeconds: props.async?.backoffMaxSeconds ?? 900,
      maxBatchingWindowSeconds: props.async?.maxBatchingWindowSeconds ?? 0,
    };
    const { maxReceiveCount } = settings;
    // Long enough for the worst case of the settings (which the config schema keeps within 14 days),
    // so that no message expires while it still has deliveries left.
    const retentionSeconds = inboxRetentionSeconds({
      functionTimeoutSeconds: props.functionTimeout.toSeconds({ integral: false }),
      async: settings,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
      removalPolicy,
      ...props.deadLetterQueueProps,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        "This queue is the connector's dead-letter queue, the end of the line: the inbox's redrive policy and the request rule's target point here, and its messages go back to the inbox only by an explicit redrive (npm run redrive)",
    });

    this.inbox = new Queue(this, 'Inbox', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: inboxVisibilityTimeout(props.functionTimeout),
      retentionPeriod: Duration.seconds(retentionSeconds),
      removalPolicy,
      ...props.inboxProps,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `Connector ${props.connectorName}: its dead-letter queue holds events that could not be handled. Read them (each carries its error), fix the cause, then move them back to the inbox with npm run redrive.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
