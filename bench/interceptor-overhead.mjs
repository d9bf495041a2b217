/**
 * What interceptors and the call context cost per call: bench/micro.mjs (one ServerConnection,
 * in-memory socket, CPU time per call) run for plain calls, one no-op interceptor, and
 * `callContext: true`, interleaved for --rounds rounds. Prints the median ns per call of each and
 * the median (min–max) of the per-round ratios against plain calls (bench/lib/stats.mjs).
 *
 *   node bench/interceptor-overhead.mjs [--rounds 7] [--seconds 2] [--transport framed]
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { finishRun, runLine, startRun } from './lib/run-info.mjs';
import { fmtSpread, median, spread } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    seconds: { type: 'string', default: '2' },
    transport: { type: 'string', default: 'framed' },
  },
});
const variants = {
  plain: [],
  'one no-op interceptor': ['--interceptors', '1'],
  'callContext on': ['--context'],
};
const run = startRun();
const ns = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < Number(values.rounds); r++) {
  for (const [name, extra] of Object.entries(variants)) {
    const out = execFileSync(
      process.execPath,
      [path.join(here, 'micro.mjs'), '--transport', values.transport, '--seconds', values.seconds, ...extra],
      { encoding: 'utf8' },
    );
    ns[name].push(JSON.parse(out.trim().split('\n').pop()).nsPerCall);
  }
  process.stderr.write(`round ${r + 1}/${values.rounds}\n`);
}
console.log(runLine(finishRun(run)));
console.log(`| variant | median ns/call | ratio to plain: median (min-max over ${values.rounds} rounds) |`);
console.log('| --- | ---: | --- |');
for (const name of Object.keys(variants)) {
  const ratios = spread(ns[name].map((v, i) => v / ns.plain[i]));
  console.log(`| ${name} | ${median(ns[name])} | ${fmtSpread(ratios, 3, '')} |`);
}
