/**
 * The circuit breaker a fleet shares (`circuitBreaker.scope: "shared"`): every warm instance of a
 * connector keeps its own {@link CircuitBreaker} (the failure-rate window stays local), and the
 * instances share its open state through one item of the idempotency table,
 * `id = breaker#<connector>`:
 *
 * | attribute | meaning |
 * | --- | --- |
 * | `breakerState` | `closed`, `open` or `half-open` (a probe is claimed) |
 * | `version` | bumped by every write; each write is conditional on the version it read |
 * | `openedAtMs` / `halfOpenAtMs` | when it opened; when one half-open probe may be claimed (epoch ms) |
 * | `probeOwner` / `probeUntilMs` | the instance that claimed the probe; when its claim lapses (epoch ms) |
 * | `expiration` | epoch seconds, a day after the last change: the table's TTL removes forgotten items |
 *
 * Writes happen on state changes only: closed → open when an instance's own window trips; the
 * claim of the half-open probe (one instance wins the conditional write, fleet-wide, per
 * `openSeconds`); the probe's verdict (closed, or open again). Otherwise an instance reads the item
 * at most once per `refreshMs` (concurrent calls share one read) and decides from memory, so the
 * DynamoDB requests do not grow with the request rate.
 *
 * DynamoDB failing (an error, a throttle, no answer within `storeTimeoutMs` or the call's deadline)
 * never blocks a call: the instance's own breaker decides until the next read succeeds, and each
 * failure is counted (`SharedStateFailures`, dimension `feature = circuitBreaker`) and logged at
 * WARN at most once per `warnIntervalMs`.
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { countSharedStateFailure, type Powertools } from '../powertools.js';
import { CircuitBreaker, type CircuitBreakerSettings, CircuitOpenError } from './circuit-breaker.js';

/** Where the shared state lives: the idempotency table (partition key `id`, TTL attribute `expiration`). */
export interface SharedStateStore {
  dynamoClient: DynamoDBClient;
  tableName: string;
}

/** Options of {@link SharedCircuitBreaker} (and {@link createSharedCircuitBreaker}). */
export interface SharedCircuitBreakerOptions extends SharedStateStore {
  /** The connector's name: the item is `breaker#<connector>`. */
  connector: string;
  /** The connector's `circuitBreaker` block (`openSeconds`, `refreshMs`, the window). */
  settings: CircuitBreakerSettings;
  /** The instance's own breaker. @default a new {@link CircuitBreaker} of `settings` with `onOpen` */
  local?: CircuitBreaker;
  /** Called on every transition to open this instance causes (the HTTP client counts `CircuitBreakerOpened`). */
  onOpen?: () => void;
  /** Logger and metrics for store failures. @default none: failures are neither logged nor counted */
  powertools?: Pick<Powertools, 'logger' | 'metrics'>;
  /** The clock, epoch ms. @default Date.now */
  clock?: () => number;
  /**
   * The longest wait for one DynamoDB request, in ms (the call's deadline may cut it shorter): long
   * enough for a cold start's first request (connection, credentials), short beside a call. @default 1000
   */
  storeTimeoutMs?: number;
  /** The longest time one attempt takes, in ms: a probe claim lasts at least this long. @default 0 */
  attemptTimeoutMs?: number;
  /** At most one WARN log of store failures per this many ms. @default 60000 */
  warnIntervalMs?: number;
  /** This instance's name in probe claims. @default a random UUID */
  instanceId?: string;
}

/** The shared item, as last read or written. */
interface SharedView {
  state: 'closed' | 'open' | 'half-open';
  version: number;
  halfOpenAtMs: number;
  probeOwner: string | undefined;
  probeUntilMs: number;
}

/** The item's partition key attribute: the idempotency table's (`IDEMPOTENCY_PARTITION_KEY` in lib/). */
const KEY_ATTRIBUTE = 'id';
/** Items expire a day after their last change. */
const EXPIRY_SECONDS = 86_400;
/** The feature dimension of `SharedStateFailures`. */
const FEATURE = 'circuitBreaker' as const;

const CLOSED: SharedView = {
  state: 'closed',
  version: 0,
  halfOpenAtMs: 0,
  probeOwner: undefined,
  probeUntilMs: 0,
};

/**
 * A connector's circuit breaker shared by the fleet (see the module comment). Use it in place of
 * {@link CircuitBreaker.execute}; the local breaker stays reachable as {@link local}.
 */
export class SharedCircuitBreaker {
  readonly #options: SharedCircuitBreakerOptions;
  readonly #local: CircuitBreaker;
  readonly #key: Record<string, AttributeValue>;
  readonly #clock: () => number;
  readonly #refreshMs: number;
  readonly #openMs: number;
  readonly #storeTimeoutMs: number;
  readonly #warnIntervalMs: number;
  readonly #instanceId: string;
  /** The shared state as last seen; `undefined` when the store failed (the local breaker decides). */
  #view: SharedView | undefined;
  /** Until when {@link #view} is used without reading the item again (epoch ms). */
  #freshUntilMs = Number.NEGATIVE_INFINITY;
  #read: Promise<void> | undefined;
  /** Earliest time of the next write after a failed one (epoch ms). */
  #writeAfterMs = Number.NEGATIVE_INFINITY;
  #publishing = false;
  #probing = false;
  #lastWarnAtMs = Number.NEGATIVE_INFINITY;
  #failuresSinceWarn = 0;

  /** @param options - see {@link SharedCircuitBreakerOptions} */
  constructor(options: SharedCircuitBreakerOptions) {
    this.#options = options;
    this.#local = options.local ?? new CircuitBreaker(options.settings, options.onOpen);
    this.#key = { [KEY_ATTRIBUTE]: { S: `breaker#${options.connector}` } };
    this.#clock = options.clock ?? Date.now;
    this.#refreshMs = options.settings.refreshMs ?? 1_000;
    this.#openMs = options.settings.openSeconds * 1000;
    this.#storeTimeoutMs = options.storeTimeoutMs ?? 1_000;
    this.#warnIntervalMs = options.warnIntervalMs ?? 60_000;
    this.#instanceId = options.instanceId ?? randomUUID();
  }

  /** The instance's own breaker. */
  get local(): CircuitBreaker {
    return this.#local;
  }

  /** The state this instance acts on: the shared one as last seen, or the local one when that is closed or unknown. */
  get state(): 'closed' | 'open' | 'half-open' | 'isolated' {
    const view = this.#view;
    return view && view.state !== 'closed' ? view.state : this.#local.state;
  }

  /** Seconds until the half-open probe may be claimed, rounded up; 0 unless open. */
  get retryAfterSeconds(): number {
    const view = this.#view;
    if (view?.state === 'open') return secondsUntil(view.halfOpenAtMs, this.#clock());
    return this.#local.retryAfterSeconds;
  }

  /**
   * Runs `attempt` unless the fleet's breaker (or, when the shared state is closed or unknown, the
   * instance's own) is open. Reads the shared item first when the cached copy is older than
   * `refreshMs`; claims and runs the half-open probe when its time has come.
   * @param signal - the call's deadline: no wait for the store outlives it
   * @throws {@link CircuitOpenError} when open (`retryAfterSeconds` = time to the half-open probe),
   *   or half-open with the probe claimed by another instance (retry after `refreshMs`, at least 1 s)
   */
  async execute<T extends { countsAsFailure: boolean }>(
    attempt: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (this.#clock() >= this.#freshUntilMs) await bounded(this.#refresh(), signal);
    const view = this.#view;
    if (view && view.state !== 'closed') {
      const now = this.#clock();
      const claimable = view.state === 'open' ? now >= view.halfOpenAtMs : now >= view.probeUntilMs;
      if (!claimable) {
        throw new CircuitOpenError(
          view.state === 'open'
            ? secondsUntil(view.halfOpenAtMs, now)
            : secondsUntil(now + this.#refreshMs, now),
        );
      }
      if (this.#probing) throw new CircuitOpenError(secondsUntil(now + this.#refreshMs, now));
      return this.#probe(view, attempt, signal);
    }
    try {
      return await this.#local.execute(attempt, signal);
    } finally {
      if (this.#local.state === 'open' && Date.now() - this.#local.openedAtMs < this.#openMs) {
        await bounded(this.#publishOpen(), signal);
      }
    }
  }

  /** Reads the item now, unless a read is in flight (then that one is awaited). Never rejects. */
  #refresh(): Promise<void> {
    this.#read ??= this.#readItem().finally(() => {
      this.#read = undefined;
    });
    return this.#read;
  }

  async #readItem(): Promise<void> {
    const previous = this.#view;
    try {
      const output = await this.#send<GetItemCommandOutput>(
        new GetItemCommand({ TableName: this.#options.tableName, Key: this.#key, ConsistentRead: true }),
      );
      const next = toView(output.Item);
      // Another instance's probe closed the fleet's breaker: this instance's own window starts afresh.
      if (previous && previous.state !== 'closed' && next.state === 'closed') this.#local.reset();
      this.#view = next;
    } catch (error) {
      this.#storeFailed('read', error);
      this.#view = undefined;
    }
    this.#freshUntilMs = this.#clock() + this.#refreshMs;
  }

  /**
   * The local window tripped (less than `openSeconds` ago, on the local breaker's clock): opens the
   * shared state, unless it is open or being probed already. Never rejects.
   */
  async #publishOpen(): Promise<void> {
    const seen = this.#view;
    if ((seen && seen.state !== 'closed') || this.#publishing || this.#clock() < this.#writeAfterMs) return;
    this.#publishing = true;
    try {
      const version = seen?.version ?? 0;
      const now = this.#clock();
      const written = await this.#write(
        {
          state: 'open',
          version: version + 1,
          halfOpenAtMs: now + this.#openMs,
          probeOwner: undefined,
          probeUntilMs: 0,
        },
        `attribute_not_exists(${KEY_ATTRIBUTE}) OR version = :seen`,
        { ':seen': { N: String(version) } },
        'open',
      );
      if (written === 'conflict') this.#freshUntilMs = Number.NEGATIVE_INFINITY;
    } finally {
      this.#publishing = false;
    }
  }

  /** Claims the half-open probe; the winner runs `attempt` and writes its verdict. */
  async #probe<T extends { countsAsFailure: boolean }>(
    view: SharedView,
    attempt: () => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    this.#probing = true;
    try {
      const now = this.#clock();
      const claim: SharedView = {
        state: 'half-open',
        version: view.version + 1,
        halfOpenAtMs: view.halfOpenAtMs,
        probeOwner: this.#instanceId,
        probeUntilMs:
          now + Math.max(this.#openMs, (this.#options.attemptTimeoutMs ?? 0) + this.#storeTimeoutMs),
      };
      const claimed = await bounded(
        this.#write(claim, 'version = :seen', { ':seen': { N: String(view.version) } }, 'claim'),
        signal,
      );
      if (claimed === 'conflict') {
        throw new CircuitOpenError(secondsUntil(this.#clock() + this.#refreshMs, this.#clock()));
      }
      // The store failed (or the deadline came first): the instance's own breaker decides.
      if (claimed !== 'written') return await this.#local.execute(attempt, signal);
      let result: T;
      try {
        result = await attempt();
      } catch (error) {
        // Like cockatiel's half-open: an error the breaker does not judge counts as a success.
        await this.#settleProbe(claim, true);
        throw error;
      }
      await this.#settleProbe(claim, !result.countsAsFailure);
      return result;
    } finally {
      this.#probing = false;
    }
  }

  /** Writes the probe's verdict: closed for all, or open for another `openSeconds`. */
  async #settleProbe(claim: SharedView, succeeded: boolean): Promise<void> {
    const now = this.#clock();
    if (succeeded) this.#local.reset();
    else this.#options.onOpen?.();
    await this.#write(
      succeeded
        ? { ...CLOSED, version: claim.version + 1 }
        : {
            state: 'open',
            version: claim.version + 1,
            halfOpenAtMs: now + this.#openMs,
            probeOwner: undefined,
            probeUntilMs: 0,
          },
      'version = :seen AND probeOwner = :me',
      { ':seen': { N: String(claim.version) }, ':me': { S: this.#instanceId } },
      succeeded ? 'close' : 'reopen',
    );
  }

  /**
   * One conditional write of the whole state; on success the cached copy is `next`.
   * @returns `written`, `conflict` (another instance wrote first: read again) or `failed` (store failure)
   */
  async #write(
    next: SharedView,
    condition: string,
    values: Record<string, AttributeValue>,
    operation: string,
  ): Promise<'written' | 'conflict' | 'failed'> {
    if (this.#clock() < this.#writeAfterMs) return 'failed';
    const now = this.#clock();
    const names: Record<string, string> = { '#state': 'breakerState' };
    const sets = [
      '#state = :state',
      'version = :version',
      'halfOpenAtMs = :halfOpenAtMs',
      'probeUntilMs = :probeUntilMs',
      'expiration = :expiration',
    ];
    const attributes: Record<string, AttributeValue> = {
      ...values,
      ':state': { S: next.state },
      ':version': { N: String(next.version) },
      ':halfOpenAtMs': { N: String(next.halfOpenAtMs) },
      ':probeUntilMs': { N: String(next.probeUntilMs) },
      ':expiration': { N: String(Math.ceil(Math.max(now, next.halfOpenAtMs) / 1000) + EXPIRY_SECONDS) },
    };
    if (next.state === 'open' && operation !== 'claim') {
      sets.push('openedAtMs = :openedAtMs');
      attributes[':openedAtMs'] = { N: String(now) };
    }
    let update = `SET ${sets.join(', ')}`;
    if (next.probeOwner === undefined) update += ' REMOVE probeOwner';
    else {
      update = `SET ${[...sets, 'probeOwner = :probeOwner'].join(', ')}`;
      attributes[':probeOwner'] = { S: next.probeOwner };
    }
    try {
      await this.#send(
        new UpdateItemCommand({
          TableName: this.#options.tableName,
          Key: this.#key,
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: attributes,
        }),
      );
      this.#view = next;
      this.#freshUntilMs = this.#clock() + this.#refreshMs;
      return 'written';
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        nameOf(error) === 'ConditionalCheckFailedException'
      ) {
        this.#freshUntilMs = Number.NEGATIVE_INFINITY;
        return 'conflict';
      }
      this.#storeFailed(operation, error);
      this.#view = undefined;
      this.#writeAfterMs = this.#clock() + this.#refreshMs;
      this.#freshUntilMs = this.#clock() + this.#refreshMs;
      return 'failed';
    }
  }

  /** Sends `command`, failing with a `TimeoutError` after `storeTimeoutMs`. */
  async #send<O>(command: GetItemCommand | UpdateItemCommand): Promise<O> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sent = this.#options.dynamoClient.send(command as GetItemCommand, {
      abortSignal: controller.signal,
    });
    sent.catch(() => undefined);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          Object.assign(new Error(`The shared state did not answer within ${this.#storeTimeoutMs} ms.`), {
            name: 'TimeoutError',
          }),
        );
      }, this.#storeTimeoutMs);
    });
    try {
      return (await Promise.race([sent, timeout])) as O;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counts a store failure; logs it at WARN at most once per `warnIntervalMs`. */
  #storeFailed(operation: string, error: unknown): void {
    const powertools = this.#options.powertools;
    if (!powertools) return;
    countSharedStateFailure(powertools.metrics, FEATURE);
    this.#failuresSinceWarn += 1;
    const now = this.#clock();
    if (now - this.#lastWarnAtMs < this.#warnIntervalMs) return;
    powertools.logger.warn(
      "The shared circuit breaker's state could not be used; this instance's own breaker decides meanwhile.",
      {
        connector: this.#options.connector,
        feature: FEATURE,
        operation,
        error: nameOf(error),
        failuresSinceLastWarning: this.#failuresSinceWarn,
      },
    );
    this.#lastWarnAtMs = now;
    this.#failuresSinceWarn = 0;
  }
}

/**
 * A {@link SharedCircuitBreaker} on the idempotency table, for simulations and tests.
 * @param options - at least `{ dynamoClient, tableName, connector, settings }`; `clock` to drive time
 */
export function createSharedCircuitBreaker(options: SharedCircuitBreakerOptions): SharedCircuitBreaker {
  return new SharedCircuitBreaker(options);
}

/** The item as a {@link SharedView}; a missing item is closed. */
function toView(item: Record<string, AttributeValue> | undefined): SharedView {
  if (!item) return CLOSED;
  const state = item.breakerState?.S;
  return {
    state: state === 'open' || state === 'half-open' ? state : 'closed',
    version: Number(item.version?.N ?? 0),
    halfOpenAtMs: Number(item.halfOpenAtMs?.N ?? 0),
    probeOwner: item.probeOwner?.S,
    probeUntilMs: Number(item.probeUntilMs?.N ?? 0),
  };
}

/** Whole seconds from `now` to `atMs`, rounded up, at least 1. */
function secondsUntil(atMs: number, now: number): number {
  return Math.max(1, Math.ceil((atMs - now) / 1000));
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** Waits for `promise` (which never rejects), but not past `signal`. */
function bounded<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const abort = () => resolve(undefined);
    signal.addEventListener('abort', abort, { once: true });
    promise.then((value) => {
      signal.removeEventListener('abort', abort);
      resolve(value);
    });
  });
}
