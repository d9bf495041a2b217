// Where a run's figures come from and where they are kept: the commit they were measured at, and
// one JSON file per run under chaos/out/runs/ (gitignored), so that no run's result is lost when
// the published files are rewritten or a run is made outside them.
import fs from 'node:fs';
import path from 'node:path';
import { commitId } from '../../bench/lib/run-info.mjs';
import { ROOT } from './host.mjs';

export const RUNS_DIR = path.join(ROOT, 'chaos/out/runs');

/**
 * `git rev-parse --short HEAD`, with `-dirty` when tracked files differ from it (what was measured
 * is then not exactly that commit); `unknown` outside a git checkout.
 */
export function gitCommit() {
  return commitId({ untracked: false });
}

/**
 * Writes `record` to chaos/out/runs/<ISO time>-<seed><suffix>.json (colons of the time as `-`);
 * returns the path.
 */
export function storeRun(record, { seed, date = new Date(), suffix = '' }) {
  fs.mkdirSync(RUNS_DIR, { recursive: true });
  const file = path.join(RUNS_DIR, `${date.toISOString().replaceAll(':', '-')}-${seed}${suffix}.json`);
  fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
