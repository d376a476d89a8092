/**
 * The Secrets Manager secret a connector reads its credentials from: created by the stack (holding
 * `{}` until the user puts the value) or imported by ARN or name.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** An existing secret to import instead of creating one. */
export type ExistingSecret =
  /** A complete ARN (ending in `-` and six characters) or a partial one (without them). */
  | { readonly arn: string }
  /** The secret's name. */
  | { readonly name: string }
  /** A secret defined elsewhere in the CDK app. */
  | { readonly secret: ISecret };

/** Props of {@link ConnectorSecret}. */
export interface ConnectorSecretProps {
  /** The `auth.secret` name of the config, for the description. */
  readonly name: string;
  /**
   * Import this secret instead of creating one.
   * @default a new secret holding `{}`
   */
  readonly existing?: ExistingSecret;
  /**
   * A word for the description, e.g. the stage.
   * @default 'dev'
   */
  readonly stage?: string;
  /**
   * What happens to a created secret when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * What the secret holds: a connector's vendor `credentials`, or the `webhookSigning` secrets of a
   * webhook route (`{"signingSecret", "previousSigningSecret"?}`, docs/webhooks.md). It words the
   * description and the rotation acknowledgement.
   * @default 'credentials'
   */
  readonly use?: 'credentials' | 'webhookSigning';
}

/**
 * A connector's secret. A created one holds `{}` (no secret value ever appears in code, config or
 * template); the connector answers `CONFIGURATION_ERROR` naming it until the value is put with
 * `aws secretsmanager put-secret-value`.
 */
export class ConnectorSecret extends Construct {
  /** The secret. */
  readonly secret: ISecret;
  /** The id the runtime reads it by (`CONNECTOR_SECRET_ID`): its ARN, or its name when imported by name. */
  readonly secretId: string;

  constructor(scope: Construct, id: string, props: ConnectorSecretProps) {
    super(scope, id);
    const existing = props.existing;
    if (existing && 'secret' in existing) {
      this.secret = existing.secret;
      this.secretId = existing.secret.secretArn;
    } else if (existing && 'arn' in existing) {
      const complete = /-[A-Za-z0-9]{6}$/.test(existing.arn);
      this.secret = Secret.fromSecretAttributes(
        this,
        'Imported',
        complete ? { secretCompleteArn: existing.arn } : { secretPartialArn: existing.arn },
      );
      this.secretId = existing.arn;
    } else if (existing) {
      this.secret = Secret.fromSecretNameV2(this, 'Imported', existing.name);
      this.secretId = existing.name;
    } else {
      const webhook = props.use === 'webhookSigning';
      const secret = new Secret(this, 'Secret', {
        description: `Connector Suite (${props.stage ?? 'dev'}): ${webhook ? 'webhook signing secrets' : 'credentials'} '${props.name}'; put the JSON value after deploy`,
        secretObjectValue: {},
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: webhook
          ? 'Webhook signing secrets are issued and rotated at the vendor, not by a rotation Lambda; the secret holds the previous signing secret during a rotation and the webhook function re-reads it when a signature does not match, so a value put after rotation is picked up'
          : 'Vendor API credentials are issued and rotated at the vendor, not by a rotation Lambda; the connectors re-read the secret on an upstream 401, so a value put after rotation is picked up',
      });
      this.secret = secret;
      this.secretId = secret.secretArn;
    }
  }
}
