/**
 * The `twilio` connector kind. Its operations arrive with the vendor connectors issue.
 */
import type { VendorConnectorConfig } from '../shared/config.js';
import { defineConnector } from '../shared/runtime/index.js';

/** The `twilio` connector kind. */
export const twilioConnector = defineConnector<VendorConnectorConfig<'twilio'>>({
  kind: 'twilio',
  operations: () => ({}),
});
