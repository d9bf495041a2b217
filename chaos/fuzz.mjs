#!/usr/bin/env node
// Structure-aware fuzzer for the worker's receive path (issue 9, item 5). For each of the six
// protocol x transport combinations it starts a real host with ONE worker serving Catalog
// (bench/servers/host-server.cjs: the real `rpc start`, a master and its one worker),
// then sends mutated calls (chaos/lib/fuzz-inputs.mjs: lying lengths and counts, wrong element
// and field types, deep nesting, renamed messages, lying frames, truncations), each on a fresh
// connection, while a second connection pings the same worker without pause.
//
// Pass rule per combination: the worker's pid never changes (0 crashes), every ping is answered
// within 1 s (0 stalls), no input's connection stays open 3 s after the input was half-closed
// (0 hangs), and the worker's RSS stays under 512 MiB (the maximum is reported).
// Every input that may have broken the worker (in flight at a crash or a ping over 1 s, or whose
// own connection hung) is replayed alone afterwards, and what ever crashed, hung or stalled the
// worker goes to test/fixtures/fuzz-corpus/ (replayed by npm test) as
// <protocol>-<transport>-fuzz-<what>-<mutation>-seed<S>-<n>.bin: input n of the run with seed S
// (see keepToCorpus for which inputs count as guilty).
//
// usage: node chaos/fuzz.mjs [--inputs N | --full] [--seed S] [--combos json/buffered,...]
//                            [--json] [--no-save]
//   --inputs N   inputs over all combinations (default 25,000; --full: 204,000)
//   --seed S     replays a run: the same seed gives the same inputs, in the same order (each
//                combination reports the SHA-256 of its inputs); a fresh seed is drawn and
//                printed otherwise
//   --json       print the report as one JSON line (for scenario 5)
//   --no-save    write nothing to the corpus
//   --input N    with --seed: send only input N of each combination, alone with pings, print
//                what it did to the worker (ok, slow, hang, stall, crash); --write FILE keeps it
// Every run's report also goes to chaos/out/runs/<ISO time>-<seed>-fuzz.json.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { countingSocket } from '../bench/lib/counting-socket.mjs';
import { freePort } from '../bench/lib/free-port.mjs';
import { encodeMessage, REPLY } from '../bench/lib/thrift-messages.mjs';
import { READY_LINE, serverCommand } from '../bench/servers/server-args.cjs';
import { mutate, validCalls } from './lib/fuzz-inputs.mjs';
import { ROOT } from './lib/host.mjs';
import { childrenOf, installSignalCleanup, isAlive, killPid, onCleanup } from './lib/procs.mjs';
import { gitCommit, storeRun } from './lib/run-record.mjs';
import { parseSeed, prng } from './lib/seed.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const FULL = args.includes('--full');
const TOTAL = Number(opt('inputs') ?? (FULL ? 204_000 : 25_000));
const SEED = parseSeed(opt('seed'));
const SAVE = !args.includes('--no-save');
const ALL_COMBOS = ['binary', 'compact', 'json'].flatMap((p) => ['buffered', 'framed'].map((t) => `${p}/${t}`));
const COMBOS = opt('combos')?.split(',') ?? ALL_COMBOS;
const CONCURRENCY = 32;
const HANG_MS = 3000;
const STALL_MS = 1000;
const SLOW_MS = 250;
const RSS_LIMIT_MIB = 512;
/** Incidents kept per kind for replay (a stalled worker leaves every input in flight hung). */
const MAX_INCIDENTS = { crash: 20, stall: 20, hang: 200 };
const MAX_SAVED = 20;
const REPLAY_BUDGET_MS = 120_000;
const corpusDir = path.join(ROOT, 'test/fixtures/fuzz-corpus');
const HOST_EXTRA = { maxFrameBytes: 1 << 20, idleTimeoutMs: 5000 };
/** The Catalog handler with echo's delay capped: a mutated delayMs is not a hang. */
const FUZZ_HANDLER = path.join(ROOT, 'chaos/fixtures/fuzz-catalog-handler.js');

/** A host with one Catalog worker; `worker` is the pid that must not change. */
async function startHost(protocol, transport) {
  const port = await freePort();
  const [command, ...hostArgs] = serverCommand('host-server.cjs', {
    service: 'Catalog',
    count: 1,
    port,
    handler: FUZZ_HANDLER,
    protocol,
    transport,
    extra: HOST_EXTRA,
  });
  const child = spawn(command, hostArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let worker = 0;
  const cleanup = onCleanup(() => {
    killPid(worker);
    killPid(child.pid);
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host ${protocol}/${transport} not ready: ${stderr}`)), 20_000);
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      if (READY_LINE.test(l)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`host exited (${code}) before it was ready: ${stderr}`)));
  });
  worker = childrenOf(child.pid)[0] ?? 0;
  if (!worker) throw new Error(`host ${protocol}/${transport}: no worker under pid ${child.pid}`);
  return {
    port,
    worker,
    alive: () => isAlive(worker),
    stderr: () => stderr,
    stop: () => {
      // The worker goes at once; the master gets SIGTERM so that it removes its temporary
      // folder (host-server.cjs), and SIGKILL if it has not exited 5 s later.
      killPid(worker);
      killPid(child.pid, 'SIGTERM');
      const late = setTimeout(cleanup, 5000);
      return new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r))).then(() => {
        clearTimeout(late);
        cleanup();
      });
    },
  };
}

/**
 * Pings the worker on its own connection, back to back, until stopped; every answer later
 * than SLOW_MS calls `onSlow(sentAt, ms)` (also while still waiting, once past STALL_MS); no
 * answer in 10 s stops it and calls `onWedged()`. Each stall (a ping unanswered for STALL_MS)
 * is added to `stallWindows` as [sent, answered or given up] (performance.now()).
 */
function pinger(port, protocol, transport, { onSlow, onWedged = () => {}, stallWindows = [] }) {
  const ping = encodeMessage({ protocol, transport, name: 'ping', seqid: 1, struct: { write: writeEmpty } });
  const replyLength = encodeMessage({ protocol, transport, name: 'ping', type: REPLY, seqid: 1, struct: { write: writeEmpty } }).length;
  const stats = { pings: 0, stalls: 0, maxMs: 0, latencies: [] };
  let stopped = false;
  let current;
  const done = (async () => {
    while (!stopped) {
      const conn = countingSocket(port);
      current = conn.socket;
      while (!stopped && !conn.closed) {
        const sentAt = performance.now();
        conn.received = 0;
        conn.socket.write(ping);
        let flagged;
        const stall = setTimeout(() => {
          flagged = [sentAt, Number.POSITIVE_INFINITY];
          stallWindows.push(flagged);
          onSlow(sentAt, STALL_MS);
        }, STALL_MS);
        const ok = await conn.until(() => conn.received >= replyLength, 10_000);
        clearTimeout(stall);
        const ms = performance.now() - sentAt;
        if (flagged) flagged[1] = performance.now();
        if (!ok) {
          if (!conn.closed) {
            // No answer in 10 s: the worker is wedged; whoever started us restarts it.
            stats.stalls++;
            stats.maxMs = Math.max(stats.maxMs, ms);
            stopped = true;
            onWedged();
          }
          break;
        }
        stats.pings++;
        stats.latencies.push(ms);
        stats.maxMs = Math.max(stats.maxMs, ms);
        if (ms > STALL_MS) stats.stalls++;
        if (ms > SLOW_MS && !flagged) onSlow(sentAt, ms);
      }
      conn.socket.destroy();
    }
  })();
  return {
    stats,
    stop: async () => {
      stopped = true;
      current?.destroy(); // an unanswered ping is not waited for
      await done;
    },
  };
}

/** Sends one input on a fresh connection and half-closes; resolves when the server closes. */
function send(port, bytes) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      resolve('hang');
    }, HANG_MS);
    s.on('error', () => {});
    s.resume();
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.end(bytes);
  });
}

async function runCombo(combo) {
  const [protocol, transport] = combo.split('/');
  const framed = transport === 'framed';
  const rng = prng(comboSeed(combo));
  const calls = validCalls(protocol);
  const count = Math.ceil(TOTAL / COMBOS.length);
  let host = await startHost(protocol, transport);
  const firstWorker = host.worker;
  const result = {
    combo,
    comboSeed: comboSeed(combo),
    inputs: 0,
    crashes: 0,
    stalls: 0,
    hangs: 0,
    slowPings: 0,
    pings: 0,
    maxPingMs: 0,
    p99PingMs: 0,
    rssStartMiB: rssMiB(host.worker),
    rssMaxMiB: 0,
    rssEndMiB: 0,
    incidents: 0,
    saved: [],
    unreproduced: [],
    byKind: {},
  };
  const inFlight = new Map();
  const recent = []; // inputs finished lately: one of them may have slowed a ping still out
  // What broke the worker, with the inputs that may have done it: replayed alone at the end.
  const incidents = [];
  const incident = (what, inputs) => {
    if (incidents.filter((i) => i.what === what).length < MAX_INCIDENTS[what])
      incidents.push({ what, inputs: [...inputs] });
  };
  const stallWindows = [];
  const onSlow = (sentAt, ms) => {
    result.slowPings++;
    if (ms < STALL_MS) return;
    incident('stall', [...inFlight.values(), ...recent.filter((input) => input.endAt >= sentAt)]);
  };
  let stallsBefore = 0; // of pingers replaced after a restart
  const onWedged = () => void restart(host);
  let ping = pinger(host.port, protocol, transport, { onSlow, onWedged, stallWindows });
  const rssTimer = setInterval(() => {
    result.rssMaxMiB = Math.max(result.rssMaxMiB, rssMiB(host.worker));
  }, 200);
  const digest = crypto.createHash('sha256');
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      if (restarting) await restarting;
      const h = host;
      // The n-th input is the n-th draw of the combination's PRNG, whatever the timing.
      const index = next++;
      const { kind, bytes } = mutate(calls, protocol, framed, rng);
      digest.update(bytes);
      result.byKind[kind] = (result.byKind[kind] ?? 0) + 1;
      const input = { index, kind, bytes, sentAt: performance.now() };
      inFlight.set(index, input);
      const outcome = await send(h.port, bytes);
      inFlight.delete(index);
      input.endAt = performance.now();
      recent.push(input);
      if (recent.length > 2 * CONCURRENCY) recent.shift();
      result.inputs++;
      if (outcome === 'hang') {
        result.hangs++;
        incident('hang', [input]);
      }
      if (!h.alive()) {
        incident('crash', [input, ...inFlight.values()]);
        // Start again, and carry on with the next inputs.
        await restart(h);
      }
    }
  };
  let restarting;
  const restart = (dead) => {
    if (dead !== host || restarting) return restarting;
    if (!dead.alive()) result.crashes++;
    restarting = (async () => {
      await ping.stop();
      stallsBefore += ping.stats.stalls;
      await host.stop();
      host = await startHost(protocol, transport);
      ping = pinger(host.port, protocol, transport, { onSlow, onWedged, stallWindows });
      restarting = undefined;
    })();
    return restarting;
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  result.seconds = +((performance.now() - started) / 1000).toFixed(1);
  result.inputsSha256 = digest.digest('hex');
  clearInterval(rssTimer);
  await ping.stop();
  const lat = ping.stats.latencies.sort((a, b) => a - b);
  Object.assign(result, {
    stalls: stallsBefore + ping.stats.stalls,
    pings: ping.stats.pings,
    maxPingMs: Math.round(ping.stats.maxMs),
    p99PingMs: Math.round(lat[Math.floor(lat.length * 0.99)] ?? 0),
    rssEndMiB: rssMiB(host.worker),
    workerPidUnchanged: host.worker === firstWorker && host.alive(),
  });
  result.incidents = incidents.length;
  host = await keepToCorpus({ host, protocol, transport, incidents, stallWindows, result });
  await host.stop();
  result.pass =
    result.crashes === 0 && result.stalls === 0 && result.hangs === 0 && result.rssMaxMiB < RSS_LIMIT_MIB;
  return result;
}

/**
 * Replays the inputs of every incident alone and writes to the corpus each input that ever
 * crashed, hung or stalled the worker: those that do it again alone; every input of a crash none
 * of whose inputs crashes it alone (a crash is never noise: they did it together); and an input
 * that hung while the worker answered its pings within 1 s (it hung by itself). Stalls that do
 * not come back alone, and hangs during a stall, may be the shared machine's doing: they are
 * listed in `result.unreproduced` (replay with --seed and the input number), not saved.
 * Returns the host (replaced when a replay broke it).
 */
async function keepToCorpus({ host, protocol, transport, incidents, stallWindows, result }) {
  const replayed = new Map(); // index -> outcome alone
  const replayUntil = performance.now() + REPLAY_BUDGET_MS;
  const order = ['crash', 'stall', 'hang'];
  incidents.sort((a, b) => order.indexOf(a.what) - order.indexOf(b.what));
  for (const { inputs } of incidents) {
    for (const input of inputs) {
      if (replayed.has(input.index)) continue;
      if (performance.now() > replayUntil) {
        result.replayBudgetExhausted = true;
        break;
      }
      const why = await replay(host, protocol, transport, input);
      replayed.set(input.index, why);
      // A wedged or dead worker would make every later replay look guilty: start afresh.
      if (why === 'crash' || why === 'stall') host = await startHostAgain(host, protocol, transport);
    }
  }
  const toSave = new Map(); // index -> [why, input]
  const broke = (input) => ['crash', 'stall', 'hang'].includes(replayed.get(input.index));
  for (const { what, inputs } of incidents) {
    for (const input of inputs.filter(broke)) toSave.set(input.index, [replayed.get(input.index), input]);
    if (inputs.some(broke)) continue;
    const duringStall = (input) => stallWindows.some(([from, to]) => from <= input.endAt && to >= input.sentAt);
    if (what === 'crash') for (const input of inputs) toSave.set(input.index, ['crash-together', input]);
    else if (what === 'hang' && !duringStall(inputs[0])) toSave.set(inputs[0].index, ['hang', inputs[0]]);
    else {
      result.unreproduced.push({
        what,
        inputs: inputs.map((i) => ({ index: i.index, kind: i.kind, alone: replayed.get(i.index) ?? 'not replayed' })),
      });
    }
  }
  for (const [why, input] of [...toSave.values()].slice(0, MAX_SAVED)) {
    const file = `${protocol}-${transport}-fuzz-${why}-${input.kind}-seed${SEED}-${input.index}.bin`;
    if (SAVE) {
      fs.mkdirSync(corpusDir, { recursive: true });
      fs.writeFileSync(path.join(corpusDir, file), input.bytes);
    }
    result.saved.push(file);
  }
  if (toSave.size > MAX_SAVED) result.notSaved = toSave.size - MAX_SAVED;
  return host;
}

/** The PRNG seed of one combination: the same for a combination whichever others run. */
function comboSeed(combo) {
  return (SEED + ALL_COMBOS.indexOf(combo) * 0x9e3779b9) >>> 0;
}

/** The input alone, with pings alongside: 'crash', 'stall', 'slow', 'hang' or 'ok'. */
async function replay(host, protocol, transport, input) {
  let worst = 0;
  const ping = pinger(host.port, protocol, transport, {
    onSlow: (sentAt, ms) => {
      worst = Math.max(worst, ms);
    },
  });
  const outcome = await send(host.port, input.bytes);
  await new Promise((r) => setTimeout(r, 50));
  await ping.stop();
  worst = Math.max(worst, ping.stats.maxMs);
  if (!host.alive()) return 'crash';
  if (worst >= STALL_MS) return 'stall';
  if (outcome === 'hang') return 'hang';
  if (worst > SLOW_MS) return 'slow';
  return 'ok';
}

/** `--input N`: input N of each combination of the run with this seed, replayed alone. */
async function replayOne(n) {
  if (opt('seed') === undefined || !(Number.isInteger(n) && n >= 0)) {
    console.error('fuzz: --input N needs --seed S and an input number from 0');
    process.exit(64);
  }
  for (const combo of COMBOS) {
    const [protocol, transport] = combo.split('/');
    const rng = prng(comboSeed(combo));
    const calls = validCalls(protocol);
    let input;
    for (let i = 0; i <= n; i++) input = mutate(calls, protocol, transport === 'framed', rng);
    const host = await startHost(protocol, transport);
    const why = await replay(host, protocol, transport, input);
    await host.stop();
    console.log(`${combo} seed ${SEED} input ${n} (${input.kind}, ${input.bytes.length} bytes): ${why}`);
    if (opt('write')) fs.writeFileSync(opt('write'), input.bytes);
  }
}

async function startHostAgain(host, protocol, transport) {
  await host.stop();
  return startHost(protocol, transport);
}

function rssMiB(pid) {
  try {
    const pages = Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return +((pages * 4096) / 2 ** 20).toFixed(1);
  } catch {
    return 0;
  }
}

/** An empty struct (a `ping` call's args, a void reply). */
function writeEmpty(p) {
  p.writeStructBegin('');
  p.writeFieldStop();
  p.writeStructEnd();
}

installSignalCleanup();
if (opt('input') !== undefined) {
  await replayOne(Number(opt('input')));
  process.exit();
}
const commit = gitCommit();
console.error(`fuzz: seed ${SEED} (replay with --seed ${SEED}), ${TOTAL} inputs over ${COMBOS.join(', ')}, commit ${commit}`);
const results = [];
const startedAt = new Date();
const started = Date.now();
for (const combo of COMBOS) {
  const r = await runCombo(combo);
  results.push(r);
  console.error(
    `fuzz: ${r.combo} ${r.inputs} inputs in ${r.seconds} s, crashes ${r.crashes}, stalls ${r.stalls}, hangs ${r.hangs}, ` +
      `pings ${r.pings} (max ${r.maxPingMs} ms, p99 ${r.p99PingMs} ms), worker RSS max ${r.rssMaxMiB} MiB, ` +
      `saved ${r.saved.length}${r.pass ? '' : '  FAIL'}`,
  );
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
const report = { date: startedAt.toISOString(), commit, seed: SEED, inputs: TOTAL, combos: COMBOS, secs, results };
const stored = storeRun(report, { seed: SEED, date: startedAt, suffix: '-fuzz' });
console.error(`fuzz: stored ${path.relative(process.cwd(), stored)}`);
if (args.includes('--json')) console.log(JSON.stringify(report));
else {
  console.log(`fuzz: ${results.reduce((a, r) => a + r.inputs, 0)} inputs in ${secs} s, seed ${SEED}`);
  console.table(results.map(({ byKind: _k, saved: _s, unreproduced: _u, inputsSha256: _d, ...r }) => r));
  for (const r of results) for (const f of r.saved) console.log(`saved test/fixtures/fuzz-corpus/${f}`);
}
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
