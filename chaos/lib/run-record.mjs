// Where a run's figures come from and where they are kept: the commit they were measured at, and
// one JSON file per run under chaos/out/runs/ (gitignored), so that no run's result is lost when
// the published files are rewritten or a run is made outside them; and the runs of one commit,
// which the published report summarises (chaos/lib/run-spread.mjs).
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

/**
 * Every run stored under chaos/out/runs/ that measured the same code the same way as `like`:
 * same commit (a `-dirty` commit matches only itself), same mode (quick or default) and the same
 * `soak` and `full` options (which change scenarios 7 and 5). Runs of some scenarios only
 * (`--only`) count for those. Oldest first.
 */
export function recordedRuns(like) {
  let files = [];
  try {
    files = fs.readdirSync(RUNS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const runs = [];
  for (const f of files) {
    let run;
    try {
      run = JSON.parse(fs.readFileSync(path.join(RUNS_DIR, f), 'utf8'));
    } catch {
      continue; // a run being written, or not a run
    }
    if (
      run.commit === like.commit &&
      run.mode === like.mode &&
      Boolean(run.options?.soak) === Boolean(like.options?.soak) &&
      Boolean(run.options?.full) === Boolean(like.options?.full)
    )
      runs.push(run);
  }
  return runs.sort((a, b) => a.date.localeCompare(b.date));
}
