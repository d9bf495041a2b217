#!/usr/bin/env node
/**
 * The overload suite: goodput (calls answered successfully within the caller's timeout, per
 * second) against offered load from 0.5× to 4× the measured capacity, open loop, for thrifthost
 * and for Apache's Node server, with three kinds of client; and how long after the load drops
 * back to 0.5× calls succeed again. Setup, measurement and targets: bench/lib/overload-run.mjs
 * and bench/lib/overload-driver.mjs; what the figures mean: docs/overload.md.
 *
 * `node bench/overload.mjs` (or `npm run bench -- --suites overload`) writes bench/out/overload.json;
 * a full run with the default contenders and drivers also updates the committed bench/overload.json
 * and the plot docs/overload-goodput.svg (bench/overload-plot.mjs). About 14 minutes.
 *
 * Options:
 *   --short                  levels 0.8, 2, 4 (recovery after 2 and 4), 3 s each (~3 min)
 *   --seconds S              per load level (default 15)
 *   --recovery-seconds S     the 0.5× phase after a burst (default 10)
 *   --levels 0.5,0.8,...     --recovery-after 2,4
 *   --contenders host,apache --drivers header,framed,apache
 *   --timeout-ms N           the callers' timeout (default 250)
 *   --spin-ms N              CPU burnt per call by the handler (default 2)
 *   --no-pin                 do not pin the driver to CPU 0 and the servers to the others
 *   --seed N                 the arrival schedule (default 1)
 *   --no-write               write nothing but bench/out/overload.json
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildHost } from './lib/build.mjs';
import {
  checkTargets,
  CONTENDERS,
  DRIVERS,
  FULL,
  figuresDelta,
  machineLoad,
  measureCapacity,
  pinning,
  planPhases,
  runDriver,
  SHORT,
  startContender,
  untilAnswered,
} from './lib/overload-run.mjs';
import { installSignalCleanup } from '../chaos/lib/procs.mjs';
import { finishRun, runLine, startRun } from './lib/run-info.mjs';
import { writePlot } from './overload-plot.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const outDir = path.join(here, 'out');

/**
 * Runs the suite. `options` as the command line's, camelCased.
 * @returns {Promise<{ result: object, text: string, markdown: string }>}
 */
export async function runOverload(options = {}) {
  // The host's processes are ended by pid on Ctrl-C or a crash, as in the chaos suite.
  installSignalCleanup();
  const base = options.short ? SHORT : FULL;
  const cfg = {
    ...base,
    ...(options.levels ? { levels: options.levels } : {}),
    ...(options.recoveryAfter ? { recoveryAfter: options.recoveryAfter } : {}),
    ...(options.seconds ? { seconds: options.seconds } : {}),
    ...(options.recoverySeconds ? { recoverySeconds: options.recoverySeconds } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.spinMs ? { spinMs: options.spinMs } : {}),
  };
  const contenderIds = options.contenders ?? Object.keys(CONTENDERS);
  const pin = pinning(options.pin !== false);
  const seed = options.seed ?? 1;
  const run = startRun();
  const loadStart = machineLoad();
  const log = options.log ?? ((m) => console.log(m));
  log(
    `overload: ${contenderIds.join(', ')}; levels ${cfg.levels.join(', ')}× of capacity, ${cfg.seconds} s each, ` +
      `timeout ${cfg.timeoutMs} ms, handler ${cfg.spinMs} ms CPU; ` +
      `${pin ? `driver on CPU ${pin.driver}, servers on CPU ${pin.servers}` : 'not pinned'}; ${loadStart.uptime}`,
  );
  const contenders = [];
  for (const id of contenderIds) {
    const def = CONTENDERS[id];
    const drivers = def.drivers.filter((d) => !options.drivers || options.drivers.includes(d));
    let server = await startContender(id, { spinMs: cfg.spinMs, pin });
    const entry = { id, label: def.label, short: def.short, runs: [] };
    try {
      entry.capacity = { before: await measureCapacity({ port: server.port, seconds: cfg.capacitySeconds, pin, seed }) };
      const capacity = entry.capacity.before.rps;
      log(`  ${def.short}: capacity ${capacity} calls/s (closed loop, 8 callers; p99 ${entry.capacity.before.p99Ms} ms)`);
      for (const driver of drivers) {
        const before = await server.figures();
        const phases = planPhases(cfg, capacity);
        const r = await runDriver({ port: server.port, kind: driver, phases, capacity, timeoutMs: cfg.timeoutMs, pin, seed });
        const drainMs = await untilAnswered(server.port, { timeoutMs: cfg.timeoutMs });
        const server1 = figuresDelta(before, await server.figures());
        entry.runs.push({ driver, label: DRIVERS[driver], phases: r.phases, drainMs, client: r.client, server: server1 });
        for (const ph of r.phases) log(`    ${driver.padEnd(6)} ${phaseLine(ph)}`);
        log(`    ${driver.padEnd(6)} load stopped: a call on a new connection answered in time after ${drainMs ?? '> 30000'} ms`);
        if (drainMs === null) {
          // Still buried: the next client kind gets a fresh server rather than this one's backlog.
          await server.stop();
          server = await startContender(id, { spinMs: cfg.spinMs, pin });
          entry.runs.at(-1).restartedAfter = true;
          log(`    ${driver.padEnd(6)} server restarted for the next run`);
        }
      }
      entry.capacity.after = await measureCapacity({ port: server.port, seconds: cfg.capacitySeconds, pin, seed });
      entry.events = server.events();
      log(`  ${def.short}: capacity after ${entry.capacity.after.rps} calls/s`);
    } finally {
      await server.stop();
    }
    contenders.push(entry);
  }
  const host = contenders.find((c) => c.id === 'host');
  const targets = host ? checkTargets(host.runs) : [];
  const result = {
    meta: {
      ...finishRun(run),
      loadAtStart: loadStart,
      loadAtEnd: machineLoad(),
      cpus: os.availableParallelism(),
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      pin: pin ?? null,
      seed,
      config: cfg,
      hostSettings: { maxQueueMs: 100, maxConcurrentCalls: 5000, maxEventLoopDelayMs: 500, note: 'defaults' },
      args: process.argv.slice(2).join(' '),
    },
    contenders,
    targets,
  };
  const text = renderText(result);
  return { result, text, markdown: renderMarkdown(result) };
}

/** One line per phase for the console. */
function phaseLine(ph) {
  const rec = ph.recovery
    ? `  recovery: first in time ${ph.recovery.firstGoodMs ?? 'never'} ms, then ${fmtShare(ph.recovery.shareAfter)}`
    : '';
  return (
    `${ph.name.padEnd(13)} offered ${fmtN(ph.offered)}/s  goodput ${fmtN(ph.goodput)}/s (${ph.goodputRatio.toFixed(2)}×)  ` +
    `shed ${fmtN(ph.shed)}/s  expired ${fmtN(ph.expired)}/s  timeouts ${fmtN(ph.timeouts + ph.late)}/s  ` +
    `p50/p99 ${ph.p50Ms ?? '-'}/${ph.p99Ms ?? '-'} ms  driver slip p99 ${ph.slipP99Ms} ms${rec}`
  );
}

const fmtN = (x) => String(Math.round(x)).padStart(5);
const fmtShare = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);

/** The goodput table, the recovery table and the targets, as Markdown. */
export function renderMarkdown(result) {
  const { meta, contenders, targets } = result;
  const lines = [
    '## Overload',
    '',
    `${runLine(meta)}; \`${meta.loadAtStart.uptime}\` at the start, \`${meta.loadAtEnd.uptime}\` at the end. ` +
      `${meta.cpus} CPUs (${meta.cpu}), ${meta.pin ? `driver pinned to CPU ${meta.pin.driver}, servers to CPU ${meta.pin.servers}` : 'not pinned'}; ` +
      `handler ${meta.config.spinMs} ms of CPU per call, callers' timeout ${meta.config.timeoutMs} ms, ` +
      `${meta.config.seconds} s per level, open loop (Poisson arrivals).`,
    '',
    '| server | client | capacity/s (before → after) | load | offered/s | goodput/s | ÷ capacity | shed/s | expired/s | timeouts/s | p50 / p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of contenders) {
    for (const r of c.runs) {
      for (const ph of r.phases.filter((p) => !p.recovery)) {
        lines.push(
          `| ${c.short} | ${r.label} | ${Math.round(c.capacity.before.rps)} → ${Math.round(c.capacity.after?.rps ?? NaN)} | ${ph.level}× | ${Math.round(ph.offered)} | ${Math.round(ph.goodput)} | ${ph.goodputRatio.toFixed(2)} | ` +
            `${Math.round(ph.shed)} | ${Math.round(ph.expired)} | ${Math.round(ph.timeouts + ph.late)} | ${ph.p50Ms ?? '–'} / ${ph.p99Ms ?? '–'} |`,
        );
      }
    }
  }
  lines.push(
    '',
    '| server | client | burst | back at 0.5×: first call in time after | then in time | goodput ÷ capacity | load stopped: new connection answered after |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const c of contenders) {
    for (const r of c.runs) {
      for (const ph of r.phases.filter((p) => p.recovery)) {
        lines.push(
          `| ${c.short} | ${r.label} | ${ph.after}× | ${ph.recovery.firstGoodMs === null ? 'never' : `${Math.round(ph.recovery.firstGoodMs)} ms`} | ${fmtShare(ph.recovery.shareAfter)} | ${ph.goodputRatio.toFixed(2)} | ${r.drainMs === null ? '> 30 s' : `${r.drainMs} ms`} |`,
        );
      }
    }
  }
  if (targets.length) {
    lines.push('', 'Targets (thrifthost):', '');
    for (const t of targets) lines.push(`- ${t.pass ? 'met' : '**missed**'}: ${t.what}: ${t.value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The same for the terminal (the Markdown tables read well enough there). */
function renderText(result) {
  return renderMarkdown(result);
}

/** JSON with arrays of numbers kept on one line, so that the committed file stays short. */
export function compactJson(value) {
  return `${JSON.stringify(value, null, 2).replace(/\[\s*((?:-?[\d.]+|null)(?:,\s*(?:-?[\d.]+|null))*)\s*\]/g, (_, inner) => `[${inner.split(/,\s*/).join(', ')}]`)}\n`;
}

async function main() {
  const { values: o } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      'recovery-seconds': { type: 'string' },
      levels: { type: 'string' },
      'recovery-after': { type: 'string' },
      contenders: { type: 'string' },
      drivers: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'spin-ms': { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      seed: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
    },
  });
  const list = (s) => s?.split(',').map((x) => x.trim());
  const nums = (s) => list(s)?.map(Number);
  if (!o['no-build'] && !buildHost(root)) throw new Error('dist/ could not be built: run `npx tsc -p .`');
  const { result, text } = await runOverload({
    short: o.short,
    seconds: o.seconds && Number(o.seconds),
    recoverySeconds: o['recovery-seconds'] && Number(o['recovery-seconds']),
    levels: nums(o.levels),
    recoveryAfter: nums(o['recovery-after']),
    contenders: list(o.contenders),
    drivers: list(o.drivers),
    timeoutMs: o['timeout-ms'] && Number(o['timeout-ms']),
    spinMs: o['spin-ms'] && Number(o['spin-ms']),
    pin: !o['no-pin'],
    seed: o.seed && Number(o.seed),
  });
  console.log(`\n${text}`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'overload.json'), compactJson(result));
  console.log(`wrote ${path.relative(process.cwd(), path.join(outDir, 'overload.json'))}`);
  const full = !o.short && !o.levels && !o.seconds && !o.contenders && !o.drivers && !o['timeout-ms'] && !o['spin-ms'];
  if (full && !o['no-write']) {
    fs.copyFileSync(path.join(outDir, 'overload.json'), path.join(here, 'overload.json'));
    const svg = writePlot(result, path.join(root, 'docs/overload-goodput.svg'));
    console.log(`updated bench/overload.json and ${path.relative(process.cwd(), svg)}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err.stack ?? err);
      process.exit(1);
    },
  );
}

