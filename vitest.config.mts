import { defineConfig } from 'vitest/config';

// `npm run coverage` (scripts/coverage.mjs) sets this: children of the tests write V8 coverage there.
const childCoverage = process.env.THRIFTHOST_CHILD_COVERAGE;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    // Real processes and sockets: a failing test must not leave the run hanging.
    teardownTimeout: 10_000,
    setupFiles: childCoverage ? ['test/helpers/child-coverage.ts'] : [],
    // Off unless `--coverage`: the code the test processes run themselves. scripts/coverage.mjs
    // adds what child processes ran and checks the floors.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'clients/**/*.ts'],
      reporter: ['json'],
      reportsDirectory: 'coverage/in-process',
      // The figures of a run with a failing test still say what the other tests reached.
      reportOnFailure: true,
    },
  },
});
