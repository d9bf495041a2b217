// Scenario 5: the fuzzer (chaos/fuzz.mjs) in a child process: malformed inputs across all six
// protocol x transport combinations while a valid client keeps calling. A sample by default,
// the full 102k inputs with --full.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../lib/host.mjs';
import { round } from '../lib/load.mjs';
import { killPid, onCleanup } from '../lib/procs.mjs';

export default {
  id: '5',
  title: 'fuzz: malformed inputs, 6 protocol x transport combinations',
  limitMs: ({ full }) => (full ? 900_000 : 240_000),
  async run({ quick, full, log }) {
    const inputs = full ? 102_000 : quick ? 6_000 : 24_000;
    const { code, stdout, stderr } = await runFuzz(inputs, log);
    const line = stdout.trim().split('\n').at(-1);
    let report;
    try {
      report = JSON.parse(line);
    } catch {
      throw new Error(`fuzz.mjs exited ${code} without its JSON report: ${stderr.slice(-500)}`);
    }
    const r = report.results;
    const sum = (k) => r.reduce((n, x) => n + x[k], 0);
    const rssGrowth = Math.max(...r.map((x) => x.rssEndMB - x.rssStartMB));
    log(`${sum('inputs')} inputs in ${report.secs} s; max RSS growth of a server ${round(rssGrowth)} MB`);
    const pass = sum('crashes') === 0 && sum('hangs') === 0 && sum('validFailed') === 0;
    return {
      rows: [
        {
          scenario: `5 fuzz ${sum('inputs').toLocaleString('en-US')} inputs`,
          calls: sum('inputs') + sum('validOk'),
          failed: sum('validFailed'),
          lost: sum('hangs'),
          crashes: sum('crashes'),
          recover: `n/a (max RSS +${round(rssGrowth)} MB)`,
          target: '0 crashes, 0 hangs, valid calls served',
          pass,
          note: pass
            ? undefined
            : `fuzz.mjs exit ${code}; see details (inputs that caused trouble are in test/fixtures/fuzz-corpus/)`,
        },
      ],
      details: {
        inputs,
        seconds: Number(report.secs),
        columns:
          'calls = malformed inputs + valid calls; failed = valid calls that failed; lost = inputs that hung the connection',
        perCombination: r,
      },
    };
  },
};

// --- internal ---

function runFuzz(inputs, log) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'chaos/fuzz.mjs'), '--inputs', String(inputs), '--json'],
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
