/**
 * The local stand-in for the suite's event bus on the result side: a {@link ResultPublisher} that
 * keeps the result events (`Connector Invocation Succeeded` / `Failed`) the connectors publish, shaped
 * as EventBridge delivers them, for `GET /v1/results`.
 */
import { randomUUID } from 'node:crypto';
import {
  RESULT_EVENT_SOURCE,
  type ResultDetail,
  type ResultEvent,
  type ResultPublisher,
} from '../functions/shared/runtime/async-contract.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambda-events.js';

/** The most result events a {@link LocalResultStore} keeps by default. */
export const DEFAULT_RESULT_LIMIT = 10_000;

/** A result event as EventBridge would deliver it. */
export interface LocalResultEvent {
  version: '0';
  id: string;
  'detail-type': ResultEvent['detailType'];
  source: typeof RESULT_EVENT_SOURCE;
  account: string;
  /** ISO 8601, whole seconds, as EventBridge writes it. */
  time: string;
  region: string;
  resources: string[];
  detail: ResultDetail;
}

/** Options of {@link LocalResultStore}. */
export interface LocalResultStoreOptions {
  /** The most events kept; the oldest go first. @default 10,000 */
  limit?: number;
  /** The clock, in epoch ms. @default Date.now */
  now?: () => number;
}

/** Keeps the last `limit` result events, newest last. */
export class LocalResultStore implements ResultPublisher {
  private readonly limit: number;
  private readonly now: () => number;
  private events: LocalResultEvent[] = [];

  constructor(options: LocalResultStoreOptions = {}) {
    this.limit = Math.max(1, options.limit ?? DEFAULT_RESULT_LIMIT);
    this.now = options.now ?? Date.now;
  }

  /** @inheritdoc */
  async publish(events: readonly ResultEvent[]): Promise<void> {
    const time = `${new Date(this.now()).toISOString().slice(0, 19)}Z`;
    for (const event of events) {
      this.events.push({
        version: '0',
        id: randomUUID(),
        'detail-type': event.detailType,
        source: RESULT_EVENT_SOURCE,
        account: LOCAL_ACCOUNT_ID,
        time,
        region: LOCAL_REGION,
        resources: [],
        // A copy: what the publisher keeps must not change with the caller's objects.
        detail: structuredClone(event.detail),
      });
    }
    if (this.events.length > this.limit) this.events = this.events.slice(-this.limit);
  }

  /** The kept events, newest last; only those of `connector` when given. */
  list(filter: { connector?: string } = {}): LocalResultEvent[] {
    const { connector } = filter;
    return connector === undefined
      ? [...this.events]
      : this.events.filter((event) => event.detail.connector === connector);
  }

  /** How many events are kept. */
  get size(): number {
    return this.events.length;
  }
}
