// Scenario 5: the structure-aware fuzzer (chaos/fuzz.mjs) in a child process: mutated calls of
// every Catalog method across all six protocol x transport combinations, each against a host
// with one worker that a second connection pings throughout. 25k inputs by default (6k with
// --quick), 204k with --full; the fuzzer's seed comes from the run's (`--seed`). Valid calls
// (the pings) and fuzz inputs are separate figures: neither is added to the other.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../lib/host.mjs';
import { round } from '../lib/load.mjs';
import { killPid, onCleanup } from '../lib/procs.mjs';

export default {
  id: '5',
  title: 'fuzz: malformed inputs, 6 protocol x transport combinations',
  limitMs: ({ full }) => (full ? 1_800_000 : 300_000),
  async run({ quick, full, seed, log }) {
    const inputs = full ? 204_000 : quick ? 6_000 : 25_000;
    const { code, stdout, stderr } = await runFuzz(inputs, seed, log);
    const line = stdout.trim().split('\n').at(-1);
    let report;
    try {
      report = JSON.parse(line);
    } catch {
      throw new Error(`fuzz.mjs exited ${code} without its JSON report: ${stderr.slice(-500)}`);
    }
    const r = report.results;
    const sum = (k) => r.reduce((n, x) => n + x[k], 0);
    const rssMax = Math.max(...r.map((x) => x.rssMaxMiB));
    const pingMax = Math.max(...r.map((x) => x.maxPingMs));
    log(
      `${sum('inputs')} inputs in ${report.secs} s (seed ${report.seed}); ${sum('pings')} pings, slowest ${pingMax} ms; ` +
        `largest worker RSS ${round(rssMax)} MiB`,
    );
    const pass = r.every((x) => x.pass);
    const saved = r.flatMap((x) => x.saved);
    return {
      rows: [
        {
          scenario: '5 fuzz, 6 protocol x transport combinations',
          calls: sum('pings'),
          inputs: sum('inputs'),
          inputsHung: sum('hangs'),
          failed: sum('stalls'),
          lost: null,
          crashes: sum('crashes'),
          recover: `n/a (slowest ping ${pingMax} ms, worker RSS ≤ ${round(rssMax)} MiB)`,
          target: '0 crashes, 0 stalls (ping on the same worker < 1 s), 0 hung inputs, RSS < 512 MiB',
          measured: { name: 'slowest ping', value: pingMax, unit: 'ms', bound: 1000 },
          pass,
          note: [
            pass ? undefined : `fuzz.mjs exit ${code}; see details`,
            saved.length ? `saved to test/fixtures/fuzz-corpus/: ${saved.join(', ')}` : undefined,
          ]
            .filter(Boolean)
            .join('; ') || undefined,
        },
      ],
      details: {
        inputs,
        seconds: Number(report.secs),
        columns:
          'calls made = valid calls (pings on the fuzzed worker, every answer awaited); fuzz inputs = mutated calls sent, each on its own connection, and how many of those connections stayed open 3 s after the input (hung); failed = pings not answered within 1 s (stalls); data lost: not measured (a ping reply is checked for its length, not its content)',
        fuzzSeed: report.seed,
        replay: `node chaos/fuzz.mjs --seed ${report.seed} --inputs ${inputs}`,
        fuzzCommit: report.commit,
        perCombination: r,
      },
    };
  },
};

// --- internal ---

function runFuzz(inputs, seed, log) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'chaos/fuzz.mjs'), '--inputs', String(inputs), '--seed', String(seed), '--json'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // fuzz.mjs ends its own server children; its pid is ours to end if the run is cut short.
    const done = onCleanup(() => killPid(child.pid));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      // Progress per combination, so that a stall shows where it happened.
      for (const line of String(d).split('\n')) if (line.startsWith('fuzz: ')) log(line.slice(6));
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      done();
      resolve({ code, stdout, stderr });
    });
  });
}
