/**
 * A connector's asynchronous path (docs/design.md §2): EventBridge rule → SQS inbox → event source mapping
 * → the connector's function, with the dead-letter queue, alarm, grants and environment it needs.
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, type Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ASYNC_ENV, INVOCATION_REQUESTED } from '../../functions/shared/runtime/async-contract.js';
import {
  type ConnectorAsyncSettings,
  ConnectorQueues,
  type ConnectorQueuesProps,
} from './connector-queues.js';

/** Props of {@link ConnectorEvents}. */
export interface ConnectorEventsProps {
  /** The connector's name: the `detail.connector` its request rule matches. */
  readonly connectorName: string;
  /** The connector's `async` settings (defaults applied by the config schema). */
  readonly async: ConnectorAsyncSettings;
  /**
   * The connector's function: the mapping's target, and the holder of the role the grants go to
   * and of the environment the queue URLs and bus name go into.
   */
  readonly function: LambdaFunction;
  /** The bus request events arrive on and result events go to (the suite's own, or `default`). */
  readonly eventBus: IEventBus;
  /**
   * Attempts EventBridge makes to deliver a request event to the inbox before it goes to the
   * dead-letter queue instead.
   * @default 185 (the EventBridge maximum)
   */
  readonly deliveryRetryAttempts?: number;
  /**
   * How long EventBridge keeps trying to deliver a request event to the inbox.
   * @default Duration.hours(24) (the EventBridge maximum)
   */
  readonly deliveryMaxEventAge?: Duration;
  /**
   * What happens to the queues (and the messages in them) when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Overrides of the inbox's props (see {@link ConnectorQueuesProps.inboxProps}).
   * @default none
   */
  readonly inboxProps?: Partial<QueueProps>;
  /**
   * Overrides of the dead-letter queue's props (see {@link ConnectorQueuesProps.deadLetterQueueProps}).
   * @default none
   */
  readonly deadLetterQueueProps?: Partial<QueueProps>;
}

/**
 * For one connector: its {@link ConnectorQueues} (inbox, dead-letter queue, alarm); a rule on the
 * bus matching `detail-type: Connector Invocation Requested` with `detail.connector` = its name,
 * targeting the inbox (EventBridge's failed deliveries go to the dead-letter queue; both queue
 * policies admit `events.amazonaws.com` for this rule's ARN only); an event source mapping from the
 * inbox to the function with partial batch responses, batch size, batching window and maximum
 * concurrency from config (the maximum concurrency is the suite's global rate control for the
 * vendor); the function's grants on the queues and the bus, and its `INBOX_QUEUE_URL`,
 * `DEAD_LETTER_QUEUE_URL` and `EVENT_BUS_NAME` environment variables.
 */
export class ConnectorEvents extends Construct {
  /** The inbox, dead-letter queue and alarm. */
  readonly queues: ConnectorQueues;
  /** The request rule. */
  readonly rule: Rule;
  /** The event source mapping from the inbox to the function. */
  readonly mapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: ConnectorEventsProps) {
    super(scope, id);
    const { async: settings, function: fn, eventBus } = props;

    this.queues = new ConnectorQueues(this, 'Queues', {
      connectorName: props.connectorName,
      async: settings,
      functionTimeout: fn.timeout ?? Duration.seconds(3),
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
      ...(props.inboxProps ? { inboxProps: props.inboxProps } : {}),
      ...(props.deadLetterQueueProps ? { deadLetterQueueProps: props.deadLetterQueueProps } : {}),
    });
    const { inbox, deadLetterQueue } = this.queues;

    this.rule = new Rule(this, 'RequestRule', {
      eventBus,
      description: `Connector ${props.connectorName}: '${INVOCATION_REQUESTED}' events for it, into its inbox`,
      eventPattern: { detailType: [INVOCATION_REQUESTED], detail: { connector: [props.connectorName] } },
    });
    // The target adds to the inbox's policy (and the dead-letter queue's) a statement admitting
    // events.amazonaws.com with aws:SourceArn = this rule's ARN: the queues use SSE-SQS, not a KMS key,
    // which is the case where aws-events-targets scopes the grant to the rule.
    this.rule.addTarget(
      new SqsQueue(inbox, {
        deadLetterQueue,
        retryAttempts: props.deliveryRetryAttempts ?? 185,
        maxEventAge: props.deliveryMaxEventAge ?? Duration.hours(24),
      }),
    );

    // Grants the mapping's own needs on the inbox: ReceiveMessage, DeleteMessage, ChangeMessageVisibility,
    // GetQueueAttributes (and GetQueueUrl), on the inbox only.
    fn.addEventSource(
      new SqsEventSource(inbox, {
        batchSize: settings.batchSize,
        // CloudFormation takes whole seconds; a fractional window (local tests use them) is rounded up.
        maxBatchingWindow: Duration.seconds(Math.ceil(settings.maxBatchingWindowSeconds)),
        maxConcurrency: settings.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    const mapping = fn.node.children.find((child) => child instanceof EventSourceMapping);
    if (!mapping) throw new Error(`no event source mapping on ${fn.node.path}`);
    this.mapping = mapping;
    Validations.of(this.mapping).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        "Lambda takes an on-failure destination only for stream and Kafka sources, not for SQS: a message of this SQS mapping that keeps failing moves to the connector's dead-letter queue, by the runtime (with its error) or by the inbox's redrive policy after maxReceiveCount receives",
    });

    // The runtime's own calls, on its own queues only. The backoff between deliveries:
    // ChangeMessageVisibility on the inbox. A message the runtime gives up on: SendMessage to the
    // dead-letter queue. And SendMessage to the inbox, beyond what the issue lists: while the circuit
    // breaker is open, or while the same request is still in progress elsewhere, the runtime puts the
    // event back into its own inbox as a new, delayed message and reports the delivery done, so that
    // waiting does not use up one of the event's maxReceiveCount attempts (SQS counts receives, and a
    // visibility change alone would count this delivery as one).
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['sqs:ChangeMessageVisibility', 'sqs:SendMessage'],
        resources: [inbox.queueArn],
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['sqs:SendMessage'],
        resources: [deadLetterQueue.queueArn],
      }),
    );
    fn.addEnvironment(ASYNC_ENV.inboxQueueUrl, inbox.queueUrl);
    fn.addEnvironment(ASYNC_ENV.deadLetterQueueUrl, deadLetterQueue.queueUrl);
    if (settings.resultEvents) {
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['events:PutEvents'],
          resources: [eventBus.eventBusArn],
        }),
      );
      fn.addEnvironment(ASYNC_ENV.eventBusName, eventBus.eventBusName);
    }
  }
}
