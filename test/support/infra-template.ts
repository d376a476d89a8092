/**
 * Queries over a synthesized CloudFormation template, for the infrastructure tests: a connector's
 * function, role statements, secret, API path, event source mapping, queues and rules; every IAM
 * statement of the template.
 */

/** One resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties: Readonly<Record<string, unknown>>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** A synthesized template. */
export interface CfnTemplate {
  readonly Resources: Readonly<Record<string, CfnResource>>;
  readonly Outputs?: Readonly<Record<string, { readonly Value: unknown; readonly Description?: string }>>;
}

/** One IAM policy statement. */
export interface IamStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: unknown;
}

/** `{Ref: id}`. */
export function ref(logicalId: string): { Ref: string } {
  return { Ref: logicalId };
}

/** `{Fn::GetAtt: [id, attribute]}`. */
export function getAtt(logicalId: string, attribute: string): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalId, attribute] };
}

/** A value or list of values as a list. */
export function asList<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

/** The resources of one type, as `[logicalId, resource]`. */
export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** The resource of a logical id; throws when the template has none. */
export function resource(template: CfnTemplate, logicalId: string): CfnResource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`the template has no resource ${logicalId}`);
  return found;
}

/** The logical id of a `{Ref: id}` value; throws for anything else. */
export function refTarget(value: unknown): string {
  const target = (value as { Ref?: unknown } | undefined)?.Ref;
  if (typeof target !== 'string') throw new Error(`expected a {Ref}, got ${JSON.stringify(value)}`);
  return target;
}

/** The logical id of a `{Fn::GetAtt: [id, attribute]}` value; throws for anything else. */
export function getAttTarget(value: unknown, attribute: string): string {
  const pair = (value as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  if (!Array.isArray(pair) || pair[1] !== attribute || typeof pair[0] !== 'string') {
    throw new Error(`expected {Fn::GetAtt: [id, ${attribute}]}, got ${JSON.stringify(value)}`);
  }
  return pair[0];
}

/** The Lambda function of a connector (found by its `POWERTOOLS_SERVICE_NAME`), as `[logicalId, resource]`. */
export function connectorFunction(template: CfnTemplate, name: string): [string, CfnResource] {
  const found = resourcesOfType(template, 'AWS::Lambda::Function').filter(
    ([, fn]) => environmentOf(fn).POWERTOOLS_SERVICE_NAME === name,
  );
  if (found.length !== 1)
    throw new Error(`expected one function of connector ${name}, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

/** A function's environment variables. */
export function environmentOf(fn: CfnResource): Record<string, unknown> {
  const environment = fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined;
  return environment?.Variables ?? {};
}

/** The logical id of a function's execution role. */
export function roleOf(fn: CfnResource): string {
  return getAttTarget(fn.Properties.Role, 'Arn');
}

/** Every statement a role's identity policies hold: attached `AWS::IAM::Policy` documents and inline policies. */
export function statementsOfRole(template: CfnTemplate, roleId: string): IamStatement[] {
  const attached = resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => asList(policy.Properties.Roles).some((role) => refTarget(role) === roleId))
    .flatMap(([, policy]) => statementsIn(policy.Properties.PolicyDocument));
  const inline = asList(resource(template, roleId).Properties.Policies as unknown).flatMap((policy) =>
    statementsIn((policy as { PolicyDocument?: unknown }).PolicyDocument),
  );
  return [...attached, ...inline];
}

/** The statements of one policy document. */
export function statementsIn(document: unknown): IamStatement[] {
  return asList((document as { Statement?: IamStatement | IamStatement[] } | undefined)?.Statement);
}

/**
 * Every IAM statement anywhere in the template (identity policies, inline and managed policies,
 * trust policies, resource policies), with the logical id of the resource holding it.
 */
export function allStatements(template: CfnTemplate): Array<{ logicalId: string; statement: IamStatement }> {
  const found: Array<{ logicalId: string; statement: IamStatement }> = [];
  const visit = (logicalId: string, value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(logicalId, item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'Statement') {
        for (const statement of asList(child as IamStatement | IamStatement[]))
          found.push({ logicalId, statement });
      } else {
        visit(logicalId, child);
      }
    }
  };
  for (const [logicalId, res] of Object.entries(template.Resources)) visit(logicalId, res.Properties);
  return found;
}

/** A statement's actions. */
export function actionsOf(statement: IamStatement): string[] {
  return asList(statement.Action);
}

/** A statement's resources. */
export function resourcesOf(statement: IamStatement): unknown[] {
  return asList(statement.Resource);
}

/** The literal strings of a value: itself if a string, else every string inside its intrinsics. */
export function literalStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(literalStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(literalStrings);
  return [];
}

/**
 * The path of an `AWS::ApiGateway::Resource`, e.g. `/v1/connectors/crm/{operation}`, by walking its
 * parents up to the REST API's root.
 */
export function apiPathOf(template: CfnTemplate, resourceId: string): string {
  const parts: string[] = [];
  let current: string | undefined = resourceId;
  while (current) {
    const res = resource(template, current);
    if (res.Type !== 'AWS::ApiGateway::Resource') throw new Error(`${current} is not an API resource`);
    parts.unshift(String(res.Properties.PathPart));
    const parent = res.Properties.ParentId as { Ref?: string };
    current = parent.Ref;
    if (!current) getAttTarget(parent, 'RootResourceId');
  }
  return `/${parts.join('/')}`;
}

/** Every API method as `{logicalId, httpMethod, path, properties}`. */
export function apiMethods(template: CfnTemplate): Array<{
  logicalId: string;
  httpMethod: string;
  path: string;
  properties: Readonly<Record<string, unknown>>;
}> {
  return resourcesOfType(template, 'AWS::ApiGateway::Method').map(([logicalId, method]) => ({
    logicalId,
    httpMethod: String(method.Properties.HttpMethod),
    path: methodPath(template, method.Properties.ResourceId),
    properties: method.Properties,
  }));
}

function methodPath(template: CfnTemplate, resourceId: unknown): string {
  const target = (resourceId as { Ref?: unknown }).Ref;
  if (typeof target === 'string') return apiPathOf(template, target);
  getAttTarget(resourceId, 'RootResourceId');
  return '/';
}

/** The event source mapping of a connector's function, as `[logicalId, resource]`; throws unless exactly one. */
export function connectorMapping(template: CfnTemplate, name: string): [string, CfnResource] {
  const [functionId] = connectorFunction(template, name);
  const found = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').filter(
    ([, mapping]) => refTarget(mapping.Properties.FunctionName) === functionId,
  );
  if (found.length !== 1) throw new Error(`expected one mapping of connector ${name}, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

/**
 * A connector's queues, found from its function: the inbox is the source of its event source
 * mapping, the dead-letter queue the target of the inbox's redrive policy.
 */
export function connectorQueues(
  template: CfnTemplate,
  name: string,
): { inboxId: string; deadLetterQueueId: string } {
  const [, mapping] = connectorMapping(template, name);
  const inboxId = getAttTarget(mapping.Properties.EventSourceArn, 'Arn');
  const inbox = resource(template, inboxId);
  if (inbox.Type !== 'AWS::SQS::Queue')
    throw new Error(`the mapping of ${name} reads ${inbox.Type}, not a queue`);
  const redrive = inbox.Properties.RedrivePolicy as { deadLetterTargetArn?: unknown } | undefined;
  const deadLetterQueueId = getAttTarget(redrive?.deadLetterTargetArn, 'Arn');
  if (resource(template, deadLetterQueueId).Type !== 'AWS::SQS::Queue') {
    throw new Error(`the redrive target of ${name}'s inbox is not a queue`);
  }
  return { inboxId, deadLetterQueueId };
}

/** The EventBridge rules whose pattern names a connector in `detail.connector`, as `[logicalId, resource]`. */
export function connectorRules(template: CfnTemplate, name: string): Array<[string, CfnResource]> {
  return resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) => {
    const pattern = rule.Properties.EventPattern as { detail?: { connector?: unknown } } | undefined;
    return asList(pattern?.detail?.connector as string | string[] | undefined).includes(name);
  });
}

/** The statements of every `AWS::SQS::QueuePolicy` that applies to a queue. */
export function queuePolicyStatements(template: CfnTemplate, queueId: string): IamStatement[] {
  return resourcesOfType(template, 'AWS::SQS::QueuePolicy')
    .filter(([, policy]) => asList(policy.Properties.Queues).some((queue) => refTarget(queue) === queueId))
    .flatMap(([, policy]) => statementsIn(policy.Properties.PolicyDocument));
}

/** Every logical id a value refers to with `Ref` or `Fn::GetAtt`. */
export function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    if (key === 'Ref' && typeof child === 'string') return [child];
    if (key === 'Fn::GetAtt' && Array.isArray(child) && typeof child[0] === 'string') return [child[0]];
    return referencedIds(child);
  });
}
