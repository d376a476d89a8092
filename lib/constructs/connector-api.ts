/**
 * The REST API in front of the connectors: `POST /v1/connectors/{connector}/{operation}`.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKeySourceType,
  AuthorizationType,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type ModelOptions,
  type Resource,
  ResponseType,
  RestApi,
  type RestApiProps,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { resourceId } from '../../functions/shared/config.js';

/** How callers authenticate to the API. */
export type ApiAuthorization = 'iam' | 'apiKey';

/** One route target of {@link ConnectorApi}. */
export interface ConnectorRoute {
  /** The connector's name: the `{connector}` of the route. */
  readonly name: string;
  /** The function that serves it. */
  readonly function: IFunction;
}

/** Props of {@link ConnectorApi}. */
export interface ConnectorApiProps {
  /** The connectors to route to, one `POST /v1/connectors/{name}/{operation}` each. */
  readonly connectors: readonly ConnectorRoute[];
  /** The stage name, also part of the URL. */
  readonly stageName: string;
  /**
   * `iam`: every method requires SigV4 (`AWS_IAM`); callers need `execute-api:Invoke`.
   * `apiKey`: every method requires an `x-api-key` header of a key in the API's usage plan.
   * @default 'iam'
   */
  readonly authorization?: ApiAuthorization;
  /**
   * Stage-wide steady-state request rate, per second.
   * @default 100
   */
  readonly throttlingRateLimit?: number;
  /**
   * Stage-wide burst, in requests.
   * @default 200
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Retention of the access log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the access log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Overrides of the REST API's props, applied over the defaults (regional endpoint, tracing,
   * access logs, throttling, execution logging at ERROR, the authorization above); `deployOptions`
   * given here are merged into the default ones.
   * @default none
   */
  readonly apiProps?: Partial<RestApiProps>;
}

/**
 * A regional REST API (REST rather than HTTP API: only REST APIs trace to X-Ray) with X-Ray tracing,
 * JSON access logs carrying the request id, stage throttling, execution logging at ERROR, body
 * validation of every method, and `AWS_IAM` authorization on every method (or API keys with a usage
 * plan).
 */
export class ConnectorApi extends Construct {
  /** The REST API. */
  readonly api: RestApi;
  /** The access log group. */
  readonly accessLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ConnectorApiProps) {
    super(scope, id);
    const authorization = props.authorization ?? 'iam';
    const throttlingRateLimit = props.throttlingRateLimit ?? 100;
    const throttlingBurstLimit = props.throttlingBurstLimit ?? 200;

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const { deployOptions: deployOverrides, ...apiOverrides } = props.apiProps ?? {};
    this.api = new RestApi(this, 'Api', {
      description: 'Connector Suite: POST /v1/connectors/{connector}/{operation}',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stageName,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit,
        throttlingBurstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        ...deployOverrides,
      },
      ...(authorization === 'apiKey' ? { apiKeySourceType: ApiKeySourceType.HEADER } : {}),
      defaultMethodOptions:
        authorization === 'iam' ? { authorizationType: AuthorizationType.IAM } : { apiKeyRequired: true },
      ...apiOverrides,
    });
    // RestApi adds an `Endpoint` output of its own; the stack outputs `ApiUrl` once, with a description.
    this.api.node.tryRemoveChild('Endpoint');
    const validator = this.api.addRequestValidator('RequestValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // What API Gateway answers itself still follows the contract's error envelope.
    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: envelope('VALIDATION_ERROR', 'client', false, 'The body must be a JSON object.'),
    });
    this.api.addGatewayResponse('Throttled', {
      type: ResponseType.THROTTLED,
      statusCode: '429',
      responseHeaders: { 'Retry-After': "'1'" },
      templates: envelope(
        'RATE_LIMIT_EXCEEDED',
        'connector',
        true,
        'The API is over its request rate; retry later.',
      ),
    });
    const connectors = this.api.root.addResource('v1').addResource('connectors');
    for (const route of props.connectors) {
      const operation: Resource = connectors.addResource(route.name).addResource('{operation}');
      operation.addMethod('POST', new LambdaIntegration(route.function, { proxy: true }), {
        requestValidator: validator,
        requestModels: {
          'application/json': this.api.addModel(`${resourceId(route.name)}Body`, jsonObjectModel()),
        },
        requestParameters: { 'method.request.path.operation': true },
      });
    }

    if (authorization === 'apiKey') {
      const plan = this.api.addUsagePlan('UsagePlan', {
        description: 'Callers of the connector API',
        throttle: { rateLimit: throttlingRateLimit, burstLimit: throttlingBurstLimit },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      plan.addApiKey(this.api.addApiKey('ApiKey', { description: 'Connector Suite caller key' }));
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'authorization is apiKey in the suite config: every method requires an API key of the usage plan',
      });
    }
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level logging role, assumable only by apigateway.amazonaws.com; AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for exactly that role, needed for execution logging at ERROR",
      });
    }
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Every connector method requires SigV4 (or an API key), the webhook route (when a connector has one) accepts only deliveries whose signature verifies, and the stage is throttled; a WAF web ACL is billed per ACL and rule and is left to the account owner to associate where their policy requires one',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are AWS principals or API key holders, not Cognito users: methods use AWS_IAM (SigV4) or API keys',
    });
  }
}

function jsonObjectModel(): ModelOptions {
  return {
    contentType: 'application/json',
    description: 'A JSON object: the operation validates its fields itself',
    schema: { schema: JsonSchemaVersion.DRAFT4, type: JsonSchemaType.OBJECT },
  };
}

/**
 * A gateway response in the suite's error envelope (docs/design.md §3), for answers API Gateway gives
 * before the function runs.
 */
function envelope(code: string, source: string, retryable: boolean, message: string): Record<string, string> {
  return {
    'application/json': `{"error":{"code":"${code}","message":"${message}","source":"${source}","retryable":${retryable},"requestId":"$context.requestId"}}`,
  };
}
