/**
 * The registry of the vendor mocks: each vendor connector kind (`stripe`, `slack`, `github`,
 * `twilio`) mapped to the function that starts its mock, imported statically so that `tsc` checks
 * every use. `scripts/vendor-mock.ts` (`npm run mock -- VENDOR`) starts a mock through it; a test
 * that needs one mock's magic values imports that mock's own module (`./stripe.js`, ...).
 *
 * A new vendor's mock is registered here, in one line (docs/adding-a-connector.md).
 *
 * @module
 */
import { startGithubMock } from './github.js';
import type { VendorMock } from './server.js';
import { startSlackMock } from './slack.js';
import { startStripeMock } from './stripe.js';
import { startTwilioMock } from './twilio.js';

export type { VendorMock };

/** The options every vendor mock takes. */
export interface VendorMockOptions {
  /** The port on 127.0.0.1; `0` picks a free one. @default 0 */
  port?: number;
}

/** Starts a vendor mock on 127.0.0.1 and resolves once it listens. */
export type VendorMockFactory = (options?: VendorMockOptions) => Promise<VendorMock>;

/** Each vendor connector kind with a mock, and the function that starts it. */
export const VENDOR_MOCKS = {
  stripe: startStripeMock,
  slack: startSlackMock,
  github: startGithubMock,
  twilio: startTwilioMock,
} as const satisfies Readonly<Record<string, VendorMockFactory>>;

/** A vendor connector kind with a mock in {@link VENDOR_MOCKS}. */
export type MockedVendorKind = keyof typeof VENDOR_MOCKS;

/** The vendor kinds with a mock, in registry order. */
export const MOCKED_VENDOR_KINDS = Object.keys(VENDOR_MOCKS) as readonly MockedVendorKind[];

/**
 * Whether `name` is a vendor kind with a mock (an own key of {@link VENDOR_MOCKS}, so `toString`
 * and the like are not).
 */
export function isMockedVendorKind(name: string): name is MockedVendorKind {
  return Object.hasOwn(VENDOR_MOCKS, name);
}
