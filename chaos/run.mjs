#!/usr/bin/env node
// `npm run chaos`: faults, bad input and load against real hosts on 127.0.0.1, one scenario at
// a time, each bounded in time and ending every process it started (by pid, also on failure
// and Ctrl-C). Prints scenario -> calls made, failed, data lost, worker crashes, time to
// recover, verdict; stores every run in chaos/out/runs/<ISO time>-<seed>.json, and writes
// chaos/RESULTS.md and chaos/results.json: every run recorded at this commit with the same
// options, row by row (runs passed, min–max of each figure: chaos/lib/run-spread.mjs), then the
// latest run's table and details. Run it several times before publishing, or replay a scenario
// alone (--only) as often as its spread needs.
//
// usage: node chaos/run.mjs [--quick] [--soak] [--full] [--only 1,3,8] [--seed S] [--out PREFIX] [--no-write] [--report]
//   --quick     every scenario shortened (whole run about 3 min)
//   --soak      scenario 7 runs 10 min instead of 2
//   --full      scenario 5 runs the full 204k-input fuzz instead of 25k
//   --seed S    replays the choices of a run (fuzz inputs, kill victims and intervals); a fresh
//               seed is drawn otherwise, printed at the start and stored in the JSON
//   --out       write PREFIX.md and PREFIX.json instead of chaos/RESULTS.md and chaos/results.json
//   --no-write  write neither (the run's JSON still goes to chaos/out/runs/)
//   --report    run nothing: write the report from the runs recorded at this commit (with the
//               same --quick/--soak/--full)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/host.mjs';
import { cleanupAll, installSignalCleanup } from './lib/procs.mjs';
import { formatTable, markdownReport } from './lib/report.mjs';
import { gitCommit, recordedRuns, storeRun } from './lib/run-record.mjs';
import { spreadOverRuns } from './lib/run-spread.mjs';
import { deriveSeed, parseSeed } from './lib/seed.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const known = ['--quick', '--soak', '--full', '--only', '--seed', '--out', '--no-write', '--report', '--help'];
for (const a of args) {
  if (a.startsWith('--') && !known.includes(a)) {
    console.error(`chaos: unknown option ${a} (known: ${known.join(' ')})`);
    process.exit(64);
  }
}
if (flag('help')) {
  const header = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  const from = header.findIndex((l) => l.startsWith('// usage'));
  const to = header.findIndex((l, i) => i > from && !l.startsWith('//'));
  console.log(header.slice(from, to).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}

let seed;
try {
  seed = parseSeed(value('seed'));
} catch (err) {
  console.error(`chaos: ${err.message}`);
  process.exit(64);
}
const opts = { quick: flag('quick'), soak: flag('soak'), full: flag('full') };
const only = value('only')
  ?.split(',')
  .map((s) => s.trim());

if (
  !fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')) ||
  !fs.existsSync(path.join(ROOT, 'dist/clients/index.js'))
) {
  console.error('chaos: dist/ is missing: run `npx tsc -p .` first');
  process.exit(1);
}

const SCENARIOS = [
  './scenarios/s1-reload.mjs',
  './scenarios/s2-worker-kills.mjs',
  './scenarios/s3-host-restart.mjs',
  './scenarios/s4-silent-slow.mjs',
  './scenarios/s5-fuzz.mjs',
  './scenarios/s6-slow-clients.mjs',
  './scenarios/s7-soak.mjs',
  './scenarios/s8-graceful-stop.mjs',
  './scenarios/s9-registry.mjs',
  './scenarios/s10-overload.mjs',
  './scenarios/s11-partial-failure.mjs',
];

const commit = gitCommit();
if (flag('report')) {
  const runs = recordedRuns({ commit, mode: opts.quick ? 'quick' : 'default', options: opts });
  if (runs.length === 0) {
    console.error(`chaos: no run recorded at commit ${commit} with these options in chaos/out/runs/`);
    process.exit(1);
  }
  publish(runs.at(-1), runs);
  process.exit(0);
}

installSignalCleanup();

console.error(`chaos: seed ${seed} (replay with --seed ${seed}), commit ${commit}`);
const startedAt = new Date();
const started = Date.now();
const results = [];
for (const file of SCENARIOS) {
  if (only && !only.some((id) => path.basename(file).startsWith(`s${id}-`))) continue;
  const scenario = (await import(file)).default;
  const limitMs = scenario.limitMs?.(opts) ?? (opts.quick ? 90_000 : 240_000);
  const t0 = Date.now();
  console.error(`chaos: scenario ${scenario.id} (${scenario.title}) ...`);
  const log = (msg) => console.error(`  [${scenario.id}] ${msg}`);
  let result;
  let timer;
  try {
    result = await Promise.race([
      scenario.run({ ...opts, seed: deriveSeed(seed, scenario.id), log }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${limitMs / 1000} s`)), limitMs);
      }),
    ]);
  } catch (err) {
    log(`error: ${err.stack ?? err}`);
    result = {
      rows: [
        {
          scenario: `${scenario.id} ${scenario.title}`,
          calls: null,
          failed: null,
          lost: null,
          crashes: null,
          recover: '',
          target: '',
          pass: false,
          note: `scenario error: ${err.message}`,
        },
      ],
      details: { error: String(err.stack ?? err) },
    };
  } finally {
    clearTimeout(timer);
    // Whatever the scenario left (a timeout, an exception): end it now, by pid.
    cleanupAll();
  }
  const secs = (Date.now() - t0) / 1000;
  results.push({ id: scenario.id, title: scenario.title, seconds: Number(secs.toFixed(1)), ...result });
  for (const row of result.rows) {
    console.error(
      `  [${scenario.id}] ${row.pass ? 'PASS' : 'FAIL'} ${row.scenario}${row.note ? ` (${row.note})` : ''}`,
    );
  }
}

const run = {
  date: startedAt.toISOString(),
  commit,
  seed,
  mode: opts.quick ? 'quick' : 'default',
  options: { ...opts, only: only ?? null },
  seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
  machine: {
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    platform: `${os.platform()} ${os.release()}`,
  },
  scenarios: results,
};

console.log(formatTable(run));
const stored = storeRun(run, { seed, date: startedAt });
console.error(`chaos: stored ${path.relative(process.cwd(), stored)}`);
if (!flag('no-write')) publish(run, recordedRuns(run));
process.exitCode = results.every((r) => r.rows.every((row) => row.pass)) ? 0 : 1;
// Sockets of destroyed clients may linger a moment; nothing else should keep the process up.
setTimeout(() => process.exit(), 2000).unref();

/**
 * Writes the report of `runs` (recorded at one commit; `latest` among them): the spread over the
 * runs, row by row, and the latest run's details; the JSON keeps each run's figures per row.
 */
function publish(latest, runs) {
  if (flag('no-write')) return;
  const out = value('out');
  const json = out ? `${out}.json` : path.join(ROOT, 'chaos/results.json');
  const md = out ? `${out}.md` : path.join(ROOT, 'chaos/RESULTS.md');
  const spread = spreadOverRuns(runs);
  const runList = runs.map((r) => ({ date: r.date, seed: r.seed, mode: r.mode, only: r.options?.only ?? null, loadavg: r.machine.loadavg }));
  fs.writeFileSync(json, `${JSON.stringify({ ...latest, spread: { runs: runList, rows: spread } }, null, 2)}\n`);
  fs.writeFileSync(md, markdownReport(latest, { runs, spread, jsonFile: path.relative(ROOT, json) }));
  console.error(
    `chaos: wrote ${path.relative(process.cwd(), md)} and ${path.relative(process.cwd(), json)} (${runs.length} run(s) at ${latest.commit})`,
  );
}
