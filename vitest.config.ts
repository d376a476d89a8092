import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Files that measure wall-clock bounds of the real handler (no call past its deadline plus the
 * margin, retries spaced as the policy says) or drive many deliveries at once: they run first,
 * one at a time, with nothing else on the cores, so a busy neighbour cannot starve their event
 * loop into a false failure.
 */
const TIMED = [
  'test/chaos/**/*.test.ts',
  'test/integration/async-events.test.ts',
  'test/unit/async-rate-limit-burst.test.ts',
  // A fleet's rate per second and its breaker's outage bound, measured in real time (issue 13).
  'test/integration/fleet-simulation.test.ts',
  'test/integration/fleet-two-gateways.test.ts',
  'test/unit/shared-rate-limit.test.ts',
];

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    unstubEnvs: true,
    restoreMocks: true,
    // Two files at a time for the rest, even on 2 cores (vitest's default there is one): they wait
    // on child processes, servers and sockets rather than on the CPU, and every test waits for
    // events, not for time. npm test ≤ 4 minutes on 2 cores (issue 9) needs it since the package
    // test came (docs/performance.md).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        extends: true,
        test: { name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'rest', include: ['test/**/*.test.ts'], exclude: TIMED, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
