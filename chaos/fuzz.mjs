#!/usr/bin/env node
// Structure-aware fuzzer for the worker's receive path (issue 9, item 5). For each of the six
// protocol x transport combinations it starts a real host with ONE worker serving Catalog
// (bench/servers/host-server.cjs: the real worker entry, forked the way the supervisor forks),
// then sends mutated calls (chaos/lib/fuzz-inputs.mjs: lying lengths and counts, wrong element
// and field types, deep nesting, renamed messages, lying frames, truncations), each on a fresh
// connection, while a second connection pings the same worker without pause.
//
// Pass rule per combination: the worker's pid never changes (0 crashes), every ping is answered
// within 1 s (0 stalls), no input's connection stays open 3 s after the input was half-closed
// (0 hangs), and the worker's RSS stays under 512 MiB (the maximum is reported).
// Every input in flight when something broke (a crash, a stall, a ping slower than 250 ms, a
// hang) is replayed alone afterwards; those that break it again are written to
// test/fixtures/fuzz-corpus/ (replayed by npm test).
//
// usage: node chaos/fuzz.mjs [--inputs N | --full] [--seed S] [--combos json/buffered,...]
//                            [--json] [--no-save]
//   --inputs N   inputs over all combinations (default 25,000; --full: 204,000)
//   --seed S     replays a run: the seed is printed at the start of every run
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { encodeMessage, REPLY } from '../bench/lib/thrift-messages.mjs';
import { mutate, prng, validCalls } from './lib/fuzz-inputs.mjs';
import { ROOT } from './lib/host.mjs';
import { childrenOf, installSignalCleanup, isAlive, killPid, onCleanup } from './lib/procs.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const FULL = args.includes('--full');
const TOTAL = Number(opt('inputs') ?? (FULL ? 204_000 : 25_000));
const SEED = opt('seed') !== undefined ? Number(opt('seed')) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const SAVE = !args.includes('--no-save');
const ALL_COMBOS = ['binary', 'compact', 'json'].flatMap((p) => ['buffered', 'framed'].map((t) => `${p}/${t}`));
const COMBOS = opt('combos')?.split(',') ?? ALL_COMBOS;
const CONCURRENCY = 32;
const HANG_MS = 3000;
const STALL_MS = 1000;
const SLOW_MS = 250;
const RSS_LIMIT_MIB = 512;
const MAX_SUSPECTS = 200;
const MAX_SAVED = 20;
const REPLAY_BUDGET_MS = 120_000;
const corpusDir = path.join(ROOT, 'test/fixtures/fuzz-corpus');
const hostServer = path.join(ROOT, 'bench/servers/host-server.cjs');
const HOST_EXTRA = { maxFrameBytes: 1 << 20, idleTimeoutMs: 5000 };

/** A host with one Catalog worker; `worker` is the pid that must not change. */
async function startHost(protocol, transport) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      hostServer,
      ...['--service', 'Catalog', '--count', '1', '--port', String(port)],
      ...['--protocol', protocol, '--transport', transport, '--extra', JSON.stringify(HOST_EXTRA)],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
      if (l.startsWith('READY')) {
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
      cleanup();
      return new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

/**
 * Pings the worker on its own connection, back to back, until stopped; every answer later
 * than SLOW_MS calls `onSlow(sentAt, ms)` (also while still waiting, once past STALL_MS); no
 * answer in 10 s stops it and calls `onWedged()`.
 */
function pinger(port, protocol, transport, onSlow, onWedged = () => {}) {
  const ping = encodeMessage({ protocol, transport, name: 'ping', seqid: 1, struct: { write: writeEmpty } });
  const replyLength = encodeMessage({ protocol, transport, name: 'ping', type: REPLY, seqid: 1, struct: { write: writeEmpty } }).length;
  const stats = { pings: 0, stalls: 0, maxMs: 0, latencies: [] };
  let stopped = false;
  let current;
  const done = (async () => {
    while (!stopped) {
      const socket = net.connect(port, '127.0.0.1');
      current = socket;
      socket.setNoDelay(true);
      socket.on('error', () => {});
      let received = 0;
      let closed = false;
      let wake = () => {};
      socket.on('data', (d) => {
        received += d.length;
        wake();
      });
      socket.on('close', () => {
        closed = true;
        wake();
      });
      while (!stopped && !closed) {
        const sentAt = performance.now();
        received = 0;
        socket.write(ping);
        let flagged = false;
        const ok = await new Promise((resolve) => {
          const stall = setTimeout(() => {
            flagged = true;
            onSlow(sentAt, STALL_MS);
          }, STALL_MS);
          const give = setTimeout(() => resolve(false), 10_000);
          wake = () => {
            if (received >= replyLength || closed) {
              clearTimeout(stall);
              clearTimeout(give);
              resolve(received >= replyLength);
            }
          };
        });
        const ms = performance.now() - sentAt;
        if (!ok) {
          if (!closed) {
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
      socket.destroy();
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
  const comboSeed = (SEED + ALL_COMBOS.indexOf(combo) * 0x9e3779b9) >>> 0;
  const rng = prng(comboSeed);
  const calls = validCalls(protocol);
  const count = Math.ceil(TOTAL / COMBOS.length);
  let host = await startHost(protocol, transport);
  const firstWorker = host.worker;
  const result = {
    combo,
    seed: comboSeed,
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
    suspects: 0,
    saved: [],
    byKind: {},
  };
  const inFlight = new Map();
  const recent = []; // inputs finished lately: one of them may have slowed a ping still out
  const suspects = new Map();
  const suspect = (input) => {
    if (suspects.size < MAX_SUSPECTS) suspects.set(input.index, input);
  };
  const onSlow = (sentAt) => {
    result.slowPings++;
    for (const input of inFlight.values()) suspect(input);
    for (const input of recent) if (input.endAt >= sentAt) suspect(input);
  };
  let stallsBefore = 0; // of pingers replaced after a restart
  const onWedged = () => void restart(host);
  let ping = pinger(host.port, protocol, transport, onSlow, onWedged);
  const rssTimer = setInterval(() => {
    result.rssMaxMiB = Math.max(result.rssMaxMiB, rssMiB(host.worker));
  }, 200);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      if (restarting) await restarting;
      const h = host;
      const index = next++;
      const { kind, bytes } = mutate(calls, protocol, framed, rng);
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
        suspect(input);
      }
      if (!h.alive()) {
        suspect(input);
        for (const other of inFlight.values()) suspect(other);
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
      ping = pinger(host.port, protocol, transport, onSlow, onWedged);
      restarting = undefined;
    })();
    return restarting;
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  result.seconds = +((performance.now() - started) / 1000).toFixed(1);
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
  result.suspects = suspects.size;
  // Replay every suspect alone: what breaks the worker again goes into the corpus. Bounded:
  // against a badly broken worker every replay costs a restart.
  const replayUntil = performance.now() + REPLAY_BUDGET_MS;
  for (const input of suspects.values()) {
    if (result.saved.length >= MAX_SAVED) break;
    if (performance.now() > replayUntil) {
      result.replayBudgetExhausted = true;
      break;
    }
    const why = await replay(host, protocol, transport, input);
    // A wedged or dead worker would make every later replay look guilty: start afresh.
    if (why === 'crash' || why === 'stall') host = await startHostAgain(host, protocol, transport);
    if (why === 'ok') continue;
    const file = `${protocol}-${transport}-fuzz-${why}-${input.kind}-${comboSeed}-${input.index}.bin`;
    if (SAVE) {
      fs.mkdirSync(corpusDir, { recursive: true });
      fs.writeFileSync(path.join(corpusDir, file), input.bytes);
    }
    result.saved.push(file);
  }
  await host.stop();
  result.pass =
    result.crashes === 0 && result.stalls === 0 && result.hangs === 0 && result.rssMaxMiB < RSS_LIMIT_MIB;
  return result;
}

/** The input alone, with pings alongside: 'crash', 'stall', 'slow', 'hang' or 'ok'. */
async function replay(host, protocol, transport, input) {
  let worst = 0;
  const ping = pinger(host.port, protocol, transport, (sentAt, ms) => {
    worst = Math.max(worst, ms);
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

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

installSignalCleanup();
console.error(`fuzz: seed ${SEED} (replay with --seed ${SEED}), ${TOTAL} inputs over ${COMBOS.join(', ')}`);
const results = [];
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
if (args.includes('--json')) console.log(JSON.stringify({ seed: SEED, results, secs }));
else {
  console.log(`fuzz: ${results.reduce((a, r) => a + r.inputs, 0)} inputs in ${secs} s, seed ${SEED}`);
  console.table(results.map(({ byKind: _k, saved: _s, ...r }) => r));
  for (const r of results) for (const f of r.saved) console.log(`saved test/fixtures/fuzz-corpus/${f}`);
}
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
