/**
 * Setup file of the coverage run (`npm run coverage`): every process a test starts (a host's
 * master and workers, the `rpc` CLI, forked servers and clients) writes V8 coverage into the
 * folder named by THRIFTHOST_CHILD_COVERAGE. Set here, inside each vitest worker, rather than on
 * vitest itself: the test processes are measured by vitest's own provider, and Node passes
 * NODE_V8_COVERAGE on to children even when a test gives them an `env` without it.
 */
const dir = process.env.THRIFTHOST_CHILD_COVERAGE;
if (dir) process.env.NODE_V8_COVERAGE = dir;
