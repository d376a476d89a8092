/** The connector kinds the local gateway can serve, by `kind`. */
import { githubConnector } from '../functions/github/connector.js';
import { httpConnector } from '../functions/http/connector.js';
import type { ConnectorConfig } from '../functions/shared/config.js';
import type { DefinedConnector } from '../functions/shared/runtime/index.js';
import { slackConnector } from '../functions/slack/connector.js';
import { stripeConnector } from '../functions/stripe/connector.js';
import { twilioConnector } from '../functions/twilio/connector.js';

export const CONNECTOR_KINDS: {
  readonly [K in ConnectorConfig['kind']]: DefinedConnector<Extract<ConnectorConfig, { kind: K }>>;
} = {
  http: httpConnector,
  stripe: stripeConnector,
  slack: slackConnector,
  github: githubConnector,
  twilio: twilioConnector,
};
