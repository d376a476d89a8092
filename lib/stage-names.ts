/**
 * The stages a suite deploys as, without aws-cdk-lib, so that command-line tools (`npm run redrive`)
 * can name them without loading the CDK.
 */

/** The stages a suite deploys as. */
export const STAGES = ['dev', 'prod'] as const;
/** One of {@link STAGES}. */
export type Stage = (typeof STAGES)[number];
