/**
 * The `slack` connector kind. Its operations arrive with the vendor connectors issue.
 */
import type { VendorConnectorConfig } from '../shared/config.js';
import { defineConnector } from '../shared/runtime/index.js';

/** The `slack` connector kind. */
export const slackConnector = defineConnector<VendorConnectorConfig<'slack'>>({
  kind: 'slack',
  operations: () => ({}),
});
