/**
 * A rate limit shared by every instance of a connector (`rateLimit.scope: "shared"`, issue 13): the
 * fleet together stays within `requestsPerSecond` and `burst`.
 *
 * The shared state is one item of the idempotency table, `ratelimit#<connector>`, holding the
 * bucket as GCRA state (the generic cell rate algorithm of ITU-T I.371, a token bucket kept as one
 * number): `tatMs`, the theoretical arrival time. With `T = 1000 / requestsPerSecond` ms per token
 * and `tau = burst · T`, a block of `n` tokens may be taken at `now` when
 * `max(tatMs, now) + n·T − now ≤ tau`, and taking it moves `tatMs` to `max(tatMs, now) + n·T`.
 *
 * Instances **lease** blocks of tokens with one conditional `UpdateItem` each (no read in steady
 * state), and spend them from memory: one DynamoDB write per lease, so one write per `leaseSize`
 * admitted calls once an instance is busy. A lease lasts {@link DEFAULT_LEASE_LIFETIME_MS}; tokens
 * unused by then are dropped (capacity lost to the fleet, at most one lease per instance). Lease
 * sizes adapt: an instance's first lease is of 1 token, a lease spent in full doubles the next (up
 * to `leaseSize`), and after one that expired the next asks only for as many as were used, so that
 * idle instances hold few tokens and busy ones write rarely. Concurrent callers of one instance share
 * one lease request, bounded by a short timeout and by the caller's deadline. When DynamoDB fails,
 * the instance falls back to its own token bucket for a while, logs it and counts
 * `SharedStateFailures` (dimension `feature` = `rateLimit`).
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { countSharedStateFailure, type Powertools } from '../powertools.js';
import { type TakeResult, TokenBucket } from './rate-limit.js';

/** The admission of a call by a rate limit: a token now, or how long until there is one. */
export interface RateLimiter {
  /**
   * Takes one token. Answers at once when it can (always, for an instance's own bucket); a shared
   * limit may first lease tokens, never past `deadlineAtMs`.
   * @param deadlineAtMs - epoch ms (of the limiter's clock) the answer must not outlive
   */
  tryTake(deadlineAtMs?: number): TakeResult | Promise<TakeResult>;
}

/** The partition key prefix of the shared rate limit's item in the idempotency table. */
export const RATE_LIMIT_KEY_PREFIX = 'ratelimit#';
/** A lease request waits this long at most for DynamoDB, in ms. */
export const DEFAULT_LEASE_TIMEOUT_MS = 250;
/** After a failure of DynamoDB, the instance's own bucket is used this long before trying again, in ms. */
export const DEFAULT_FALLBACK_MS = 5_000;
/**
 * How long leased tokens may be spent, in ms. Tokens held in leases are the fleet's only excess over
 * its limit: over any window of `W` s it admits at most `requestsPerSecond · W + burst` plus the
 * tokens leased before the window and unspent at its start (at most one lease per instance, each at
 * most `leaseSize`, and never more than `requestsPerSecond · lifetime`).
 */
export const DEFAULT_LEASE_LIFETIME_MS = 1_000;
/** The item outlives its last lease by this long (DynamoDB TTL), in seconds. */
const EXPIRATION_MARGIN_SECONDS = 3_600;

/** The default `rateLimit.leaseSize`: a tenth of a second's worth of tokens, at least 1, at most `burst`. */
export function defaultLeaseSize(requestsPerSecond: number, burst: number): number {
  return Math.min(burst, Math.max(1, Math.floor(requestsPerSecond / 10)));
}

/** Settings and dependencies of {@link createSharedRateLimiter}. */
export interface SharedRateLimiterOptions {
  /** A client for the table (the one the runtime builds for idempotency). */
  dynamoClient: DynamoDBClient;
  /** The idempotency table (partition key `id`, TTL attribute `expiration`). */
  tableName: string;
  /** The connector's name; the item's key is `ratelimit#<connector>`. */
  connector: string;
  /** The fleet's sustained limit, in requests per second. */
  requestsPerSecond: number;
  /** The fleet's burst, in requests. */
  burst: number;
  /** Tokens leased at most by one write. @default {@link defaultLeaseSize} */
  leaseSize?: number;
  /** The clock, epoch ms (tests drive it). @default Date.now */
  clock?: () => number;
  /** How long leased tokens may be spent, in ms. @default {@link DEFAULT_LEASE_LIFETIME_MS} */
  leaseLifetimeMs?: number;
  /** A lease request's timeout, in ms. @default {@link DEFAULT_LEASE_TIMEOUT_MS} */
  leaseTimeoutMs?: number;
  /** Time on the instance's own bucket after a failure of DynamoDB, in ms. @default {@link DEFAULT_FALLBACK_MS} */
  fallbackMs?: number;
  /** Where the fallback is logged and counted. @default not logged, not counted */
  powertools?: Pick<Powertools, 'logger' | 'metrics'>;
}

/** The outcome of one lease request against the shared item. */
type LeaseOutcome = { granted: number } | { retryAfterMs: number };

/** Tokens leased from the shared bucket, spent from memory until they run out or expire. */
interface Lease {
  remaining: number;
  used: number;
  expiresAtMs: number;
}

/**
 * A shared rate limit over the idempotency table (see the module's TSDoc for the algorithm and its
 * costs). Build one per connector per process.
 * @throws RangeError for a non-positive rate, a burst below 1, or a lease size outside 1 … burst
 */
export function createSharedRateLimiter(options: SharedRateLimiterOptions): SharedRateLimiter {
  return new SharedRateLimiter(options);
}

/** See {@link createSharedRateLimiter}. */
export class SharedRateLimiter implements RateLimiter {
  readonly #options: SharedRateLimiterOptions;
  readonly #clock: () => number;
  readonly #key: string;
  readonly #tokenMs: number;
  readonly #tauMs: number;
  readonly #maxLeaseSize: number;
  readonly #lifetimeMs: number;
  readonly #fallback: TokenBucket;
  #nextLeaseSize = 1;
  #lease: Lease | undefined;
  #blockedUntilMs = 0;
  #fallbackUntilMs = 0;
  /** The last `tatMs` seen, to pick the update likely to succeed. */
  #knownTatMs = 0;
  #pending: Promise<void> | undefined;
  #writes = 0;

  constructor(options: SharedRateLimiterOptions) {
    const { requestsPerSecond, burst } = options;
    const leaseSize = options.leaseSize ?? defaultLeaseSize(requestsPerSecond, burst);
    if (!(requestsPerSecond > 0) || !(burst >= 1) || !(leaseSize >= 1 && leaseSize <= burst)) {
      throw new RangeError(
        'A shared rate limit needs requestsPerSecond > 0, burst ≥ 1 and 1 ≤ leaseSize ≤ burst.',
      );
    }
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#key = `${RATE_LIMIT_KEY_PREFIX}${options.connector}`;
    this.#tokenMs = 1_000 / requestsPerSecond;
    this.#tauMs = burst * this.#tokenMs;
    this.#maxLeaseSize = Math.floor(leaseSize);
    this.#lifetimeMs = options.leaseLifetimeMs ?? DEFAULT_LEASE_LIFETIME_MS;
    this.#fallback = new TokenBucket(requestsPerSecond, burst);
  }

  /** Conditional writes sent so far (for tests and the benchmark). */
  get writes(): number {
    return this.#writes;
  }

  /** Whether calls are admitted by the instance's own bucket now (DynamoDB failed recently). */
  get fallingBack(): boolean {
    return this.#clock() < this.#fallbackUntilMs;
  }

  /** @inheritdoc */
  tryTake(deadlineAtMs = Number.POSITIVE_INFINITY): TakeResult | Promise<TakeResult> {
    const now = this.#clock();
    if (now < this.#fallbackUntilMs) return this.#fallback.tryTake();
    const lease = this.#lease;
    if (lease && lease.remaining > 0 && now < lease.expiresAtMs) {
      lease.remaining -= 1;
      lease.used += 1;
      return { ok: true };
    }
    if (now < this.#blockedUntilMs) return { ok: false, retryAfterMs: Math.ceil(this.#blockedUntilMs - now) };
    return this.#takeShared(deadlineAtMs);
  }

  /** Waits for the instance's one lease request (starting it if none is under way), then takes again. */
  async #takeShared(deadlineAtMs: number): Promise<TakeResult> {
    if (!this.#pending) {
      this.#pending = this.#renew(deadlineAtMs).finally(() => {
        this.#pending = undefined;
      });
    }
    const settled = await untilDeadline(this.#pending, deadlineAtMs - this.#clock());
    // Past the deadline: the caller checks its deadline before anything else.
    if (!settled || this.#clock() >= deadlineAtMs) return { ok: false, retryAfterMs: 0 };
    return this.tryTake(deadlineAtMs);
  }

  /** One lease request: tokens leased, a block until the fleet has some, or a fallback after a failure. */
  async #renew(deadlineAtMs: number): Promise<void> {
    const now = this.#clock();
    const previous = this.#lease;
    if (previous) {
      // A lease spent in full asks for twice as many next time; one that expired, for what was used.
      this.#nextLeaseSize =
        previous.remaining === 0
          ? Math.min(this.#maxLeaseSize, this.#nextLeaseSize * 2)
          : Math.max(1, Math.min(this.#maxLeaseSize, previous.used));
      this.#lease = undefined;
    }
    const controller = new AbortController();
    const leaseTimeoutMs = this.#options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS;
    // Cut short by the caller's deadline rather than by its own timeout: not a failure of DynamoDB.
    const deadlineBound = deadlineAtMs - now < leaseTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => {
          const error = Object.assign(new Error('The shared rate limit did not answer in time.'), {
            name: 'TimeoutError',
          });
          controller.abort(error);
          reject(error);
        },
        Math.max(0, Math.min(leaseTimeoutMs, deadlineAtMs - now)),
      );
    });
    try {
      // Raced as well as aborted: an SDK call stuck before its HTTP handler ignores the signal.
      const leasing = this.#leaseTokens(this.#nextLeaseSize, now, controller.signal);
      leasing.catch(() => undefined); // a late failure after the timeout is already handled
      const outcome = await Promise.race([leasing, timedOut]);
      if ('granted' in outcome) {
        this.#lease = { remaining: outcome.granted, used: 0, expiresAtMs: now + this.#lifetimeMs };
      } else {
        this.#lease = undefined;
        this.#blockedUntilMs = now + outcome.retryAfterMs;
      }
    } catch (error) {
      if (!(deadlineBound && controller.signal.aborted)) this.#fail(now, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Leases `n` tokens, or as many as the bucket holds, or says how long until it holds `n`. `tatMs`
   * never decreases, so the last value seen is a lower bound: once it is at or after `now` the
   * bucket is known to be draining (only the `busy` write can succeed) and to hold at most
   * `(now + tau − tatMs) / T` tokens. Costs one write when it succeeds at once; one write and one
   * read (and one more write if the read shows tokens) when another instance got there first or the
   * fleet is over its limit.
   */
  async #leaseTokens(n: number, now: number, signal: AbortSignal): Promise<LeaseOutcome> {
    const knownTatMs = this.#knownTatMs;
    if (knownTatMs >= now) {
      const atMost = Math.floor((now + this.#tauMs - knownTatMs) / this.#tokenMs);
      const m = Math.min(n, atMost);
      if (m >= 1 && (await this.#update(true, m, now, signal))) return { granted: m };
    } else {
      for (const busy of [false, true]) {
        if (await this.#update(busy, n, now, signal)) return { granted: n };
      }
    }
    // Over the limit, or another instance got there first: read the bucket to know which.
    const read = await this.#options.dynamoClient.send(
      new GetItemCommand({
        TableName: this.#options.tableName,
        Key: { id: { S: this.#key } },
        ConsistentRead: true,
        ProjectionExpression: 'tatMs',
      }),
      { abortSignal: signal },
    );
    const tatMs = Number(read.Item?.tatMs?.N ?? 0);
    this.#knownTatMs = Math.max(this.#knownTatMs, tatMs);
    const available = Math.floor((now + this.#tauMs - Math.max(tatMs, now)) / this.#tokenMs);
    if (available >= 1) {
      const m = Math.min(available, n);
      if (await this.#update(tatMs >= now, m, now, signal)) return { granted: m };
    }
    // Wait until the bucket holds the whole lease asked for (at least 1 token), not a single token:
    // fewer, larger leases when instances contend for a fleet at its limit.
    return {
      retryAfterMs: Math.max(1, Math.ceil(Math.max(tatMs, now) + n * this.#tokenMs - this.#tauMs - now)),
    };
  }

  /**
   * One conditional write taking `n` tokens: `busy`, the bucket is being drained (`tatMs ≥ now`) and
   * `tatMs` moves on by `n·T` if that stays within `tau`; otherwise it was idle (or is new) and
   * `tatMs` restarts at `now + n·T`.
   * @returns whether the condition held and the tokens were taken
   */
  async #update(busy: boolean, n: number, now: number, signal: AbortSignal): Promise<boolean> {
    const stepMs = n * this.#tokenMs;
    const expiration = Math.ceil((now + this.#tauMs) / 1_000) + EXPIRATION_MARGIN_SECONDS;
    const values: Record<string, AttributeValue> = busy
      ? {
          ':step': num(stepMs),
          ':now': num(now),
          ':max': num(now + this.#tauMs - stepMs),
          ':exp': num(expiration),
        }
      : { ':start': num(now + stepMs), ':now': num(now), ':exp': num(expiration) };
    this.#writes += 1;
    try {
      const answer = await this.#options.dynamoClient.send(
        new UpdateItemCommand({
          TableName: this.#options.tableName,
          Key: { id: { S: this.#key } },
          UpdateExpression: busy
            ? 'SET tatMs = tatMs + :step, expiration = :exp'
            : 'SET tatMs = :start, expiration = :exp',
          ConditionExpression: busy
            ? 'tatMs >= :now AND tatMs <= :max'
            : 'attribute_not_exists(tatMs) OR tatMs < :now',
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
        { abortSignal: signal },
      );
      this.#knownTatMs = Math.max(this.#knownTatMs, Number(answer.Attributes?.tatMs?.N ?? now + stepMs));
      return true;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as Error)?.name === 'ConditionalCheckFailedException'
      ) {
        return false;
      }
      throw error;
    }
  }

  /** DynamoDB failed: the instance's own bucket for `fallbackMs`, logged and counted once per failure. */
  #fail(now: number, error: unknown): void {
    const fallbackMs = this.#options.fallbackMs ?? DEFAULT_FALLBACK_MS;
    this.#fallbackUntilMs = now + fallbackMs;
    this.#lease = undefined;
    const powertools = this.#options.powertools;
    if (!powertools) return;
    // One line and one count per failure, and at most one failure per `fallbackMs`: rate-limited.
    powertools.logger.warn('Shared rate limit unavailable; using this instance’s own bucket', {
      feature: 'rateLimit',
      connector: this.#options.connector,
      fallbackMs,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    countSharedStateFailure(powertools.metrics, 'rateLimit');
  }
}

/** A DynamoDB number. */
function num(value: number): AttributeValue.NMember {
  return { N: String(value) };
}

/** Whether `promise` settled within `ms` (it never rejects here). */
async function untilDeadline(promise: Promise<void>, ms: number): Promise<boolean> {
  if (!Number.isFinite(ms)) {
    await promise;
    return true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
