/**
 * EventBridge `PutEvents` (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`) on the local gateway,
 * so that `aws events put-events --endpoint-url ...` and the SDK's `PutEventsCommand` deliver
 * events to the local inboxes. Each entry becomes the event `POST /v1/events` takes and goes
 * through the same code (the gateway's `putEvents`, passed in as a {@link PublishEvents}): an entry the rule of a connector matches
 * (`Connector Invocation Requested`, `detail.connector` naming it) is queued in its inbox.
 *
 * The answer is `PutEvents`' own: `{FailedEntryCount, Entries}`, one entry per entry sent, in order,
 * with an `EventId` or an `ErrorCode` and `ErrorMessage`. Its limits are AWS's: 1 to 10 entries, and
 * at most 256 KB per request, the size counted as AWS documents it ("Calculating PutEvents event
 * entry size", EventBridge User Guide): the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each
 * of `Resources`, plus 14 bytes when `Time` is given. `EventBusName` is accepted whatever it names
 * (the local gateway has one bus).
 *
 * One difference from AWS, on purpose: AWS accepts an event that no rule matches and drops it; the
 * local gateway answers it as a failed entry (`ErrorCode: NoMatchingRule`) so that it is not lost
 * silently.
 */
import { type AwsJsonAnswer, AwsJsonError } from './protocol.js';

/**
 * What `POST /v1/events` does with a list of events (the gateway's `putEvents` on its queues): one
 * result per event, in order, with the suite's error codes.
 */
export type PublishEvents = (events: readonly Record<string, unknown>[]) => {
  Entries: ReadonlyArray<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }>;
};

/** The most entries one `PutEvents` request may carry (AWS's limit). */
export const MAX_PUT_EVENTS_ENTRIES = 10;
/** The largest `PutEvents` request, in bytes counted as AWS counts them (256 KB). */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/** An entry of `PutEvents`' answer. */
export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** `PutEvents`' answer. */
export interface PutEventsResponse {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

/**
 * The size of a `PutEvents` entry as AWS counts it (see the module comment); 0 for a non-object.
 */
export function putEventsEntrySize(entry: unknown): number {
  if (typeof entry !== 'object' || entry === null) return 0;
  const { Time, Source, DetailType, Detail, Resources } = entry as Record<string, unknown>;
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0);
  let size = Time === undefined || Time === null ? 0 : 14;
  size += bytes(Source) + bytes(DetailType) + bytes(Detail);
  if (Array.isArray(Resources)) for (const resource of Resources) size += bytes(resource);
  return size;
}

/**
 * Answers one `AWSEvents.PutEvents` request body (parsed).
 * @throws AwsJsonError `ValidationException` for no `Entries`, more than 10, or more than 256 KB
 */
export function eventBridgePutEvents(
  request: Record<string, unknown>,
  publish: PublishEvents,
): PutEventsResponse {
  const entries = request.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new AwsJsonError(
      'ValidationException',
      "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  if (entries.length > MAX_PUT_EVENTS_ENTRIES) {
    throw new AwsJsonError(
      'ValidationException',
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PUT_EVENTS_ENTRIES}`,
    );
  }
  const size = entries.reduce((total: number, entry) => total + putEventsEntrySize(entry), 0);
  if (size > MAX_PUT_EVENTS_BYTES) {
    throw new AwsJsonError(
      'ValidationException',
      `Total size of the entries in the request is over the limit: ${size} bytes, at most ${MAX_PUT_EVENTS_BYTES}.`,
    );
  }
  const converted = entries.map(toGatewayEvent);
  const valid = converted.filter((entry): entry is { event: Record<string, unknown> } => 'event' in entry);
  const answer = publish(valid.map((entry) => entry.event));
  const queued = answer.Entries[Symbol.iterator]();
  const results = converted.map((entry): PutEventsResultEntry => {
    if ('ErrorCode' in entry) return entry;
    return awsEntry(queued.next().value as PutEventsResultEntry);
  });
  return {
    FailedEntryCount: results.filter((entry) => 'ErrorCode' in entry).length,
    Entries: results,
  };
}

/** Answers an `AWSEvents.*` request: `PutEvents`, or AWS's `UnknownOperationException`. */
export function eventBridgeOperation(
  action: string,
  request: Record<string, unknown>,
  publish: PublishEvents,
): AwsJsonAnswer {
  if (action !== 'PutEvents') {
    throw new AwsJsonError(
      'UnknownOperationException',
      `The local gateway serves AWSEvents.PutEvents only, not AWSEvents.${action}.`,
    );
  }
  return { status: 200, body: eventBridgePutEvents(request, publish) };
}

/** A `PutEvents` entry as the event `POST /v1/events` takes, or the error entry AWS would answer. */
function toGatewayEvent(entry: unknown): { event: Record<string, unknown> } | PutEventsResultEntry {
  const invalid = (ErrorMessage: string) => ({ ErrorCode: 'InvalidArgument', ErrorMessage });
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return invalid('An entry must be an object {Source, DetailType, Detail}.');
  }
  const { Source, DetailType, Detail, Resources, Time } = entry as Record<string, unknown>;
  if (typeof Source !== 'string' || Source === '') return invalid('Parameter Source is not valid.');
  if (typeof DetailType !== 'string' || DetailType === '') {
    return invalid('Parameter DetailType is not valid.');
  }
  if (typeof Detail !== 'string') return invalid('Parameter Detail is not valid.');
  let detail: unknown;
  try {
    detail = JSON.parse(Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed: it must be a JSON object.' };
  }
  const event: Record<string, unknown> = { source: Source, 'detail-type': DetailType, detail };
  if (Array.isArray(Resources)) event.resources = Resources;
  const time = toIsoTime(Time);
  if (time === null) return invalid('Parameter Time is not valid.');
  if (time !== undefined) event.time = time;
  return { event };
}

/** `Time` as the SDK and the CLI send it (epoch seconds, or an ISO 8601 string), in ISO 8601. */
function toIsoTime(time: unknown): string | undefined | null {
  if (time === undefined || time === null) return undefined;
  const date =
    typeof time === 'number' ? new Date(time * 1000) : typeof time === 'string' ? new Date(time) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) return null;
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** An entry of the gateway's answer as `PutEvents` answers it, with AWS's error codes. */
function awsEntry(entry: PutEventsResultEntry): PutEventsResultEntry {
  if ('EventId' in entry) return { EventId: entry.EventId };
  const code =
    entry.ErrorCode === 'NOT_FOUND'
      ? 'NoMatchingRule'
      : entry.ErrorCode === 'VALIDATION_ERROR'
        ? 'InvalidArgument'
        : 'InternalFailure';
  return { ErrorCode: code, ErrorMessage: entry.ErrorMessage };
}
