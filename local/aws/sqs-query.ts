/**
 * SQS's older query protocol (a form-encoded `POST` with `Action=...&Version=2012-11-05`, answered in
 * XML), for AWS CLIs whose botocore predates SQS's JSON protocol (late 2023): Debian 12's `awscli`
 * 2.9.19, for one. Only the inspecting actions are served — `ListQueues`, `GetQueueUrl` and
 * `GetQueueAttributes` — through the same {@link LocalSqsService} as the JSON protocol; any other
 * action is answered with an `InvalidAction` error naming them (a newer CLI, or the SDK v3, speaks
 * the JSON protocol and gets every action).
 */
import { randomUUID } from 'node:crypto';
import type { AwsJsonAnswer } from './protocol.js';
import { AwsJsonError } from './protocol.js';
import type { LocalSqsService } from './sqs.js';

/** The actions served in the query protocol. */
export const QUERY_ACTIONS = ['ListQueues', 'GetQueueUrl', 'GetQueueAttributes'] as const;

/** An answer in the query protocol: status and XML body. */
export interface QueryAnswer {
  status: number;
  body: string;
}

/** Whether a request is in SQS's query protocol: a form-encoded `POST`. */
export function isSqsQueryRequest(method: string | undefined, contentType: string | undefined): boolean {
  return (
    method === 'POST' && (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')
  );
}

/** Answers one query-protocol request body (form-encoded). */
export function sqsQueryOperation(service: LocalSqsService, body: string): QueryAnswer {
  const params = new URLSearchParams(body);
  const action = params.get('Action') ?? '';
  const requestId = randomUUID();
  try {
    if (!(QUERY_ACTIONS as readonly string[]).includes(action)) {
      throw new AwsJsonError(
        'InvalidAction',
        `The local gateway serves ${QUERY_ACTIONS.join(', ')} in the SQS query protocol, not '${action}'; ` +
          'use an AWS CLI or SDK that speaks the SQS JSON protocol for the other actions.',
        400,
        'InvalidAction',
      );
    }
    const attributeNames = [...params.entries()]
      .filter(([name]) => /^AttributeName(\.\d+)?$/.test(name))
      .map(([, value]) => value);
    const request: Record<string, unknown> = {
      ...(params.has('QueueNamePrefix') ? { QueueNamePrefix: params.get('QueueNamePrefix') } : {}),
      ...(params.has('QueueName') ? { QueueName: params.get('QueueName') } : {}),
      ...(params.has('QueueUrl') ? { QueueUrl: params.get('QueueUrl') } : {}),
      ...(params.has('MaxResults') ? { MaxResults: Number(params.get('MaxResults')) } : {}),
      AttributeNames: attributeNames,
    };
    return { status: 200, body: toXml(action, service.operation(action, request), requestId) };
  } catch (error) {
    if (!(error instanceof AwsJsonError)) throw error;
    const code = error.queryError ?? error.type;
    return {
      status: error.status,
      body:
        `<?xml version="1.0"?><ErrorResponse xmlns="${NAMESPACE}"><Error><Type>Sender</Type>` +
        `<Code>${escapeXml(code)}</Code><Message>${escapeXml(error.message)}</Message><Detail/></Error>` +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
}

const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

function toXml(action: string, answer: AwsJsonAnswer, requestId: string): string {
  const body = answer.body as {
    QueueUrls?: string[];
    QueueUrl?: string;
    Attributes?: Record<string, string>;
  };
  let result = '';
  if (action === 'ListQueues') {
    result = (body.QueueUrls ?? []).map((url) => `<QueueUrl>${escapeXml(url)}</QueueUrl>`).join('');
  } else if (action === 'GetQueueUrl') {
    result = `<QueueUrl>${escapeXml(body.QueueUrl ?? '')}</QueueUrl>`;
  } else {
    result = Object.entries(body.Attributes ?? {})
      .map(
        ([name, value]) =>
          `<Attribute><Name>${escapeXml(name)}</Name><Value>${escapeXml(value)}</Value></Attribute>`,
      )
      .join('');
  }
  return (
    `<?xml version="1.0"?><${action}Response xmlns="${NAMESPACE}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
