/** The connector kinds the local gateway can serve, by `kind`. */
import { httpConnector } from '../functions/http/connector.js';
import type { ConnectorConfig } from '../functions/shared/config.js';
import type { DefinedConnector } from '../functions/shared/runtime/index.js';

export const CONNECTOR_KINDS: {
  readonly [K in ConnectorConfig['kind']]: DefinedConnector<Extract<ConnectorConfig, { kind: K }>>;
} = {
  http: httpConnector,
};
