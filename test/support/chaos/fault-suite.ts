/**
 * The vitest side of the chaos fault table: one test per fault on one path, each asserting that
 * the fault's row has every must-be-zero count at 0 (the row is printed when it does not).
 * `test/chaos/faults-api.test.ts` and `test/chaos/faults-async.test.ts` call it, so that the two
 * paths run in parallel workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapturedOutput, captureOutput } from '../integration-helpers.js';
import { CHAOS_FAULTS, type ChaosPath } from './faults.js';
import {
  type ChaosEnvironment,
  formatTable,
  MUST_BE_ZERO,
  runFault,
  startChaosEnvironment,
} from './runner.js';

/**
 * Registers the tests of every fault that runs on `path`, with `calls` calls (or events) each.
 * Calls are few: enough to meet each fault more than once, few enough for a loaded 2-core machine
 * (`npm run chaos` runs more).
 */
export function chaosFaultSuite(path: ChaosPath, calls: number): void {
  let env: ChaosEnvironment & { close(): Promise<void> };
  let output: CapturedOutput;

  beforeAll(async () => {
    output = captureOutput();
    env = await startChaosEnvironment();
  });

  afterAll(async () => {
    await env?.close();
    output?.restore();
  });

  const faults = CHAOS_FAULTS.filter((fault) => fault.paths.includes(path));
  describe.each(faults.map((fault) => [fault.name, fault] as const))(
    `chaos on the ${path} path: %s`,
    (_name, fault) => {
      it('no INTERNAL_ERROR, no call past deadline + margin, no repeated side effect, nothing escaped or unexpected', async () => {
        // Act
        const report = await runFault(env, fault, path, { calls });

        // Assess
        const zeros = Object.fromEntries(MUST_BE_ZERO.map((column) => [column, 0]));
        const counts = Object.fromEntries(MUST_BE_ZERO.map((column) => [column, report[column]]));
        expect(counts, `\n${formatTable([report])}\n`).toEqual(zeros);
      });
    },
  );
}
