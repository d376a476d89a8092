/**
 * The `stripe` connector kind. Its operations arrive with the vendor connectors issue.
 */
import type { VendorConnectorConfig } from '../shared/config.js';
import { defineConnector } from '../shared/runtime/index.js';

/** The `stripe` connector kind. */
export const stripeConnector = defineConnector<VendorConnectorConfig<'stripe'>>({
  kind: 'stripe',
  operations: () => ({}),
});
