/**
 * The `github` connector kind. Its operations arrive with the vendor connectors issue.
 */
import type { VendorConnectorConfig } from '../shared/config.js';
import { defineConnector } from '../shared/runtime/index.js';

/** The `github` connector kind. */
export const githubConnector = defineConnector<VendorConnectorConfig<'github'>>({
  kind: 'github',
  operations: () => ({}),
});
