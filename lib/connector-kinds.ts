/**
 * Where each connector kind's Lambda entry lives: the only thing `lib/` knows of `functions/`
 * besides the config schema and the names of the asynchronous contract (detail-type, environment
 * variables).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectorConfig } from '../functions/shared/config.js';

/**
 * The package root: this repository (the directory holding `package-lock.json`), or `dist/` of the
 * installed package (`node_modules/connector-suite/dist`).
 */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Handler file of each kind, relative to the project root. */
export const HANDLER_ENTRIES: { readonly [K in ConnectorConfig['kind']]: string } = {
  http: 'functions/http/handler.ts',
  stripe: 'functions/stripe/handler.ts',
  slack: 'functions/slack/handler.ts',
  github: 'functions/github/handler.ts',
  twilio: 'functions/twilio/handler.ts',
};

/**
 * The absolute handler path of a connector kind: its TypeScript source in this repository, else the
 * compiled `.js` beside it (the installed package ships `dist/functions/<kind>/handler.js` only).
 */
export function handlerEntry(kind: ConnectorConfig['kind']): string {
  const source = path.join(PROJECT_ROOT, HANDLER_ENTRIES[kind]);
  return existsSync(source) ? source : source.replace(/\.ts$/, '.js');
}
