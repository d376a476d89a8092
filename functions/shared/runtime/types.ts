/**
 * The runtime's shared types: what a connector handler is built from, what it answers, and what the
 * request core ({@link ConnectorCore}) hands the event adapters (API Gateway, SQS, EventBridge).
 * Types only: every runtime module may import this one, and it imports none of them at run time.
 */
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import type { AnyConnectorConfig, ConnectorConfig } from '../config.js';
import type { CredentialStore } from '../credentials/store.js';
import type { HttpClient } from '../http/client.js';
import type { Powertools } from '../powertools.js';
import type { Redactor } from '../redaction.js';
import type { QueuePort, RequestEvent, ResultDetail, ResultPublisher } from './async-contract.js';
import type { InputLimits } from './input-limits.js';

/** Where idempotency records are kept. */
export type IdempotencyStore =
  /** A DynamoDB table with partition key `id` and TTL attribute `expiration`. */
  | { dynamoClient: DynamoDBClient; tableName: string }
  /** Any Powertools persistence layer (tests may use a fake). */
  | { persistenceStore: BasePersistenceLayer };

/** What a connector handler is built from. */
export interface ConnectorDependencies<C extends AnyConnectorConfig = ConnectorConfig> {
  /** The connector's validated config. */
  config: C;
  /** Where its secrets come from. */
  credentials: CredentialStore;
  /** Idempotency records; without it, `Idempotency-Key` is not honoured (local tests only). */
  idempotency?: IdempotencyStore;
  /** @default Logger, Tracer and Metrics named after the connector */
  powertools?: Powertools;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  /** Accept `http://` loopback base URLs (the local gateway). @default false */
  allowLoopbackHttp?: boolean;
  /** @default the process-wide redactor */
  redactor?: Redactor;
  /** The connector's queues, for SQS batches (the asynchronous path). */
  queue?: QueuePort;
  /** Where result events of the asynchronous path go. */
  results?: ResultPublisher;
  /** Limits on caller input (nesting depth, body bytes); @default {@link DEFAULT_INPUT_LIMITS} */
  inputLimits?: Partial<InputLimits>;
}

/** The success envelope. */
export interface SuccessBody {
  data: unknown;
  meta: {
    connector: string;
    operation: string;
    requestId: string;
    attempts: number;
    cached: boolean;
    idempotentReplay: boolean;
    upstreamStatus: number | null;
    durationMs: number;
  };
}

/**
 * A connector's Lambda handler: API Gateway REST proxy events answer with the envelopes of docs/design.md §3;
 * SQS batches of request events answer with a partial batch response; a request event invoked
 * directly answers with its result. The connector's HTTP client is at hand (its breaker state is
 * useful in tests).
 */
export interface ConnectorHandler {
  (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult>;
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
  (event: RequestEvent, context: Context): Promise<ResultDetail>;
  /** The connector's outbound client. */
  readonly client: HttpClient;
}

/** What an operation's run leaves for the envelope (and for the idempotency record). */
export interface ExecutionResult {
  data: unknown;
  attempts: number;
  cached: boolean;
  upstreamStatus: number | null;
  idempotentReplay?: boolean;
}

/** One operation to run, from any entry point. */
export interface InvokeRequest {
  operationName: string;
  /** The caller's input, not yet validated. */
  input: unknown;
  requestId: string;
  idempotencyKey: string | undefined;
  lambdaContext: Context;
}

/**
 * Runs one operation: checks the input's nesting depth (before anything recursive reads it),
 * validates it, then runs it through idempotency when a key is given. The success `data` has the
 * connector's credentials redacted.
 * @throws ConnectorError of the contract: `VALIDATION_ERROR` for input past the limits or the
 *   schema, idempotency errors mapped to their codes, `DEPENDENCY_UNAVAILABLE` when the idempotency
 *   store fails before the call
 */
export type Invoke = (request: InvokeRequest) => Promise<ExecutionResult>;

/** What the event adapters need of a connector handler (built by `createConnectorCore`). */
export interface ConnectorCore {
  config: ConnectorConfig;
  powertools: Powertools;
  redactor: Redactor;
  invoke: Invoke;
  queue: QueuePort | undefined;
  results: ResultPublisher | undefined;
  /** The connector's outbound client (breaker, rate limit, cache, tokens). */
  client: HttpClient;
  /** The names of the connector's operations, for a `NOT_FOUND` answer. */
  operationNames: readonly string[];
  /** The limits on caller input, defaults applied. */
  inputLimits: InputLimits;
}
