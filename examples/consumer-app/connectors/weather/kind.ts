/**
 * The `weather` kind as the construct (`kinds: [weatherKind]`) and the local gateway
 * (`startLocalGateway({ suite, kinds: [weatherKind] })`) are handed it: its definition and the
 * Lambda entry the construct bundles.
 */
import { fileURLToPath } from 'node:url';
import { connectorKind } from 'connector-suite/runtime';
import { weatherConnector } from './connector.js';

export const weatherKind = connectorKind({
  connector: weatherConnector,
  entry: fileURLToPath(new URL('./handler.ts', import.meta.url)),
});
