import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    // At least two files at a time, even on 2 cores (vitest's default there is one): most test
    // files wait on child processes, servers and sockets rather than on the CPU, and every test
    // waits for events, not for time, so they hold on a loaded machine. npm test ≤ 4 minutes
    // on 2 cores (issue 9) needs it since the package test came (docs/performance.md).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    hookTimeout: 30_000,
    unstubEnvs: true,
    restoreMocks: true,
  },
});
