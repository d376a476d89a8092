/**
 * Fuzzing (fast-check) of every operation of every connector kind through the real API handler, and
 * of `POST /v1/events` through the local gateway: random JSON, wrong types, deep nesting (up to
 * 5,000 levels), `__proto__` keys, non-JSON and base64 bodies. No answer may be a 500, and every
 * answer is an envelope; no request the `openapi` kind's description refuses may reach the vendor. `npm run chaos` runs 10,000 bodies per operation; this test 200.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFuzzTable, fuzzEvents, fuzzOperations, OPERATION_EXAMPLES } from '../support/chaos/fuzz.js';
import { type CapturedOutput, captureOutput } from '../support/integration-helpers.js';

/** Bodies per operation. */
const RUNS = 200;

let output: CapturedOutput;

beforeAll(() => {
  output = captureOutput();
});

afterAll(() => {
  output?.restore();
});

describe('fuzzing every operation through the real handler', () => {
  it.each(Object.keys(OPERATION_EXAMPLES).map((target) => [target]))(
    '%s: no 500, every answer an envelope',
    async (target) => {
      // Act
      const [report] = await fuzzOperations({ runs: RUNS, only: target });

      // Assess
      expect(report?.runs).toBe(RUNS);
      expect(
        {
          status500: report?.status500,
          notEnvelope: report?.notEnvelope,
          prototypePolluted: report?.prototypePolluted,
          // The openapi kind's: requests its description refuses that reached the vendor.
          invalidSent: report?.invalidSent ?? 0,
        },
        `\n${formatFuzzTable(report ? [report] : [])}\n`,
      ).toEqual({ status500: 0, notEnvelope: 0, prototypePolluted: false, invalidSent: 0 });
      // The operation's valid example reached the vendor mock and succeeded.
      expect(report?.answers['200'], `\n${formatFuzzTable(report ? [report] : [])}\n`).toBeGreaterThan(0);
    },
  );
});

describe('fuzzing POST /v1/events through the local gateway', () => {
  it('no 500, an answer per entry or the error envelope, no INTERNAL_ERROR dead letter', async () => {
    // Act
    const report = await fuzzEvents({ runs: RUNS });

    // Assess
    expect(report.runs).toBe(RUNS);
    expect(
      {
        status500: report.status500,
        notEnvelope: report.notEnvelope,
        prototypePolluted: report.prototypePolluted,
      },
      `\n${formatFuzzTable([report])}\n`,
    ).toEqual({ status500: 0, notEnvelope: 0, prototypePolluted: false });
  });
});
