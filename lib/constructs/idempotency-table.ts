/**
 * The DynamoDB table Powertools Idempotency keeps its records in.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  Table,
  TableEncryption,
  type TableProps,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** The partition key Powertools Idempotency's DynamoDB persistence layer uses (its default). */
export const IDEMPOTENCY_PARTITION_KEY = { name: 'id', type: AttributeType.STRING } as const;
/** The TTL attribute Powertools Idempotency writes, in epoch seconds (its default). */
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';

/** Props of {@link IdempotencyTable}. */
export interface IdempotencyTableProps {
  /**
   * What happens to the table (and its records) when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Point-in-time recovery (continuous backups for 35 days).
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * Refuse `DeleteTable` while this is set.
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * Overrides of the table's props, applied over the defaults (on-demand billing, point-in-time
   * recovery, AWS managed encryption, the removal policy and deletion protection above). The
   * partition key (`id`, string) and the TTL attribute (`expiration`) are what Powertools
   * Idempotency writes and cannot be overridden.
   * @default none
   */
  readonly tableProps?: Partial<TableProps>;
}

/**
 * The idempotency table: partition key `id` (string), TTL on `expiration` (epoch seconds, written by
 * Powertools), on-demand billing, point-in-time recovery, encryption at rest with the AWS managed KMS key.
 */
export class IdempotencyTable extends Construct {
  /** The table. */
  readonly table: ITable;

  constructor(scope: Construct, id: string, props: IdempotencyTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...props.tableProps,
      partitionKey: IDEMPOTENCY_PARTITION_KEY,
      timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
    });
  }
}
