/**
 * The asynchronous path's settings against SQS's limits (defect 7 of issue 8): the config refuses a
 * combination that could hide a message past its retention or past 12 hours from its receipt, naming
 * the fields, and derives the inbox's retention from the settings.
 */
import { describe, expect, it } from 'vitest';
import {
  ConfigValidationError,
  inboxRetentionSeconds,
  maxBackoffSeconds,
  parseConnectorConfig,
  parseSuiteConfig,
  worstCaseInboxSeconds,
} from '../../functions/shared/config.js';

function connector(extra: Record<string, unknown> = {}) {
  return {
    kind: 'http',
    name: 'orders',
    baseUrl: 'https://api.example.com',
    allowedPathPrefixes: ['/orders'],
    ...extra,
  };
}

function issuesOf(act: () => unknown): readonly string[] {
  try {
    act();
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigValidationError');
}

describe('async settings against SQS limits', () => {
  it('refuses maxReceiveCount 1,000 with backoffMaxSeconds 43,200, naming both fields (at synth and npm start alike)', () => {
    // Prepare
    const suite = {
      connectors: [connector({ async: { maxReceiveCount: 1_000, backoffMaxSeconds: 43_200 } })],
    };

    // Act
    const issues = issuesOf(() => parseSuiteConfig(suite, 'suite.json', { allowLoopbackHttp: true }));

    // Assess
    expect(issues).toEqual([
      expect.stringMatching(/^connectors\[0\]\.async\.backoffMaxSeconds: must be at most 43111 s .*12 hours/),
      expect.stringMatching(
        /^connectors\[0\]\.async\.maxReceiveCount: async\.maxReceiveCount 1000 × \(async\.backoffMaxSeconds 43200 .*14 days/,
      ),
    ]);
  });

  it('refuses a backoff that, after the batching window and the function run, would end past 12 hours from receipt', () => {
    // Prepare
    const entry = connector({
      functionTimeoutSeconds: 900,
      async: { maxReceiveCount: 2, backoffMaxSeconds: 42_300, maxBatchingWindowSeconds: 1 },
    });

    // Act
    const issues = issuesOf(() => parseConnectorConfig(entry, 'CONNECTOR_CONFIG'));

    // Assess
    expect(issues).toEqual([expect.stringMatching(/^async\.backoffMaxSeconds: must be at most 42239 s/)]);
  });

  it('accepts the defaults with the 4 days of the SQS default retention', () => {
    // Prepare
    const entry = connector();

    // Act
    const config = parseConnectorConfig(entry, 'test');

    // Assess
    expect(maxBackoffSeconds(config)).toBe(43_200 - 29 - 60);
    // 900 s (a requeue's delay) + 5 × (29 + 900 s).
    expect(worstCaseInboxSeconds(config)).toBe(5_545);
    expect(inboxRetentionSeconds(config)).toBe(345_600);
  });

  it('derives a longer retention from many deliveries, within 14 days', () => {
    // Prepare
    const entry = connector({ async: { maxReceiveCount: 1_000 } });

    // Act
    const config = parseConnectorConfig(entry, 'test');

    // Assess
    // 900 + 1,000 × (29 + 900) + 86,400 s of backlog.
    expect(inboxRetentionSeconds(config)).toBe(1_016_300);
    expect(inboxRetentionSeconds(config)).toBeLessThanOrEqual(1_209_600);
  });
});
