/**
 * Deployment stages: what differs between `-c stage=dev` and `-c stage=prod`.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

import { STAGES, type Stage } from './stage-names.js';

export { STAGES, type Stage };

/** What a stage decides. */
export interface StageSettings {
  /** Retention of every log group. */
  readonly logRetention: RetentionDays;
  /** What happens to stateful resources (table, secrets, log groups) when they leave the stack. */
  readonly removalPolicy: RemovalPolicy;
  /** Refuse to delete the idempotency table. */
  readonly deletionProtection: boolean;
}

/** dev: short retention, everything removed with the stack; prod: long retention, everything kept. */
export const STAGE_SETTINGS: Readonly<Record<Stage, StageSettings>> = {
  dev: {
    logRetention: RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
  },
  prod: {
    logRetention: RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
  },
};

/** Thrown for a `stage` context value that is not one of {@link STAGES}. */
export class StageContextError extends Error {
  override readonly name = 'StageContextError';
}

/**
 * The stage of the `stage` context value.
 * @param value - `app.node.tryGetContext('stage')`; @default 'dev' when undefined
 * @throws {@link StageContextError} naming the context key and the allowed values
 */
export function parseStage(value: unknown): Stage {
  if (value === undefined) return 'dev';
  if (typeof value === 'string' && (STAGES as readonly string[]).includes(value)) return value as Stage;
  throw new StageContextError(
    `Context value 'stage' must be one of ${STAGES.join(', ')} (got ${JSON.stringify(value)}); use -c stage=dev`,
  );
}
