/**
 * `--pin`: the load generator on one core, the server under test on the other (`taskset -c`),
 * so that on a 2-core machine they no longer take CPU from each other and a req/s ratio
 * measures the servers. Only single-process contenders run pinned (one thrifthost worker with
 * its master, one Apache process, C++ with one I/O thread): a server of two processes on one
 * core measures the scheduler. Unpinned, the generator shares the cores with the server and
 * CPU per request is the figure to judge.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The core the load generator (and the bench process itself) runs on. */
export const LOADGEN_CPU = '0';
/** The core the server under test (every process and thread of it) runs on. */
export const SERVER_CPU = '1';

/**
 * Whether this machine can pin: taskset present, and both cores in this process's affinity (or
 * this process already on the generator's core).
 * @returns {{ ok: true } | { ok: false, reason: string }}
 */
export function canPin() {
  // The machine's cores, not this process's affinity: bench/run.mjs pins itself (pinSelf) before
  // its payload suite, which then still places servers on SERVER_CPU.
  if (os.cpus().length < 2) return { ok: false, reason: '--pin needs 2 cores' };
  try {
    const mask = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
    const cpus = expandList(mask.slice(mask.lastIndexOf(':') + 1).trim());
    const pinnedAlready = cpus.size === 1 && cpus.has(Number(LOADGEN_CPU));
    if (!pinnedAlready && (!cpus.has(Number(LOADGEN_CPU)) || !cpus.has(Number(SERVER_CPU))))
      return { ok: false, reason: `--pin needs cores ${LOADGEN_CPU} and ${SERVER_CPU}; this process may use ${mask.trim()}` };
  } catch {
    return { ok: false, reason: '--pin needs taskset (apt: util-linux)' };
  }
  return { ok: true };
}

/** `command` run on core `cpu`: `['taskset', '-c', cpu, ...command]` (taskset execs, the pid stays). */
export function onCore(cpu, command) {
  return ['taskset', '-c', cpu, ...command];
}

/** Moves this process (every thread) to the load generator's core, out of the server's way. */
export function pinSelf() {
  execFileSync('taskset', ['-a', '-cp', LOADGEN_CPU, String(process.pid)], { stdio: 'ignore' });
}

// --- internal ---

/** `0-1,3` → Set {0, 1, 3}. */
function expandList(list) {
  const out = new Set();
  for (const part of list.split(',')) {
    const [a, b = a] = part.split('-').map(Number);
    for (let c = a; c <= b; c++) out.add(c);
  }
  return out;
}
