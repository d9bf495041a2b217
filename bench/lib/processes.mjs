/**
 * The processes a bench run starts: spawned in their own process group, remembered by pid, and
 * killed (group by group) when the run ends, fails or is interrupted. Also reads the CPU time and
 * RSS of a process tree from /proc.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { READY_LINE, serverCommand } from '../servers/server-args.cjs';
import { freePort } from './free-port.mjs';

const CLK_TCK = Number(sysconf('CLK_TCK', 100));
const PAGE_SIZE = Number(sysconf('PAGESIZE', 4096));
const live = new Set();
let hooked = false;

/** Command-line arguments of a load generator (`loadgen.cpp` and `node-loadgen.mjs` take the same). */
export function loadgenArgs({ port, conns, transport, protocol, warmup, duration }) {
  const args = ['--port', String(port), '--conns', String(conns), '--transport', transport];
  if (protocol !== undefined) args.push('--protocol', protocol);
  return [...args, '--warmup', String(warmup), '--duration', String(duration)];
}

/**
 * Starts a long-running process in its own process group; resolves once it prints its ready
 * line (READY_LINE of bench/servers/server-args.cjs).
 * @returns {Promise<{ pid: number, stop(): Promise<void>, stderr(): string }>}
 */
export function startServer(label, command, args, { timeoutMs = 20_000, env } = {}) {
  const { entry, child, stderr } = spawnGroup(label, command, args, env);
  child.once('exit', () => live.delete(entry));
  const handle = {
    pid: child.pid,
    stderr,
    stop: () => stopGroup(entry),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stopGroup(entry);
      reject(new Error(`${label} was not ready within ${timeoutMs} ms\n${stderr()}`));
    }, timeoutMs);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (READY_LINE.test(line)) {
        clearTimeout(timer);
        resolve(handle);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${signal ?? code}) before it was ready\n${stderr()}`));
    });
  });
}

/**
 * Starts a Node contender server, bench/servers/<script> with `options` (serverCommand's), on a
 * free port unless `options.port` names one.
 * @returns {Promise<{ pid: number, port: number, stop(): Promise<void>, stderr(): string }>}
 */
export async function startNodeServer(script, label, options, { env } = {}) {
  const port = options.port ?? (await freePort());
  const [command, ...args] = serverCommand(script, { ...options, port });
  return { ...(await startServer(label, command, args, { env })), port };
}

/**
 * Runs a process to completion, calling `onLine` for each stdout line; resolves with its exit
 * code and the last stderr bytes. Killed after `timeoutMs`.
 */
export function runTool(command, args, { onLine, timeoutMs = 120_000 } = {}) {
  const { entry, child, stderr } = spawnGroup(command, command, args);
  readline.createInterface({ input: child.stdout }).on('line', (line) => onLine?.(line));
  return new Promise((resolve) => {
    const timer = setTimeout(() => stopGroup(entry), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(entry);
      resolve({ code: code ?? signal, stderr: stderr() });
    });
  });
}

/** `pid` and all its descendants, from /proc/<pid>/task/<tid>/children. */
export function processTree(pid) {
  const out = [];
  const walk = (p) => {
    out.push(p);
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {}
      for (const c of children.split(' ').filter(Boolean)) walk(Number(c));
    }
  };
  walk(pid);
  return out;
}

/**
 * CPU time used so far by each pid, keyed by pid: `whole` from /proc/<pid>/stat (all threads,
 * ended ones included) and `tasks` summed over its live threads, each `{ user, sys, total }`
 * in seconds. Compare two samples with {@link cpuDelta}.
 */
export function cpuSeconds(pids) {
  const out = new Map();
  for (const pid of pids) {
    const whole = readStat(`/proc/${pid}/stat`);
    if (!whole) continue;
    const tasks = { user: 0, sys: 0, total: 0 };
    let tids = [];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {}
    for (const tid of tids) {
      const t = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (!t) continue; // the thread ended between readdir and read
      tasks.user += t.user;
      tasks.sys += t.sys;
      tasks.total += t.total;
    }
    out.set(pid, { whole, tasks });
  }
  return out;
}

/**
 * CPU time of a process in seconds with nanosecond resolution: the sum of its threads'
 * `sum_exec_runtime` (/proc/<pid>/task/<tid>/schedstat). /proc/<pid>/stat counts in clock
 * ticks (10 ms), too coarse for batches of a few hundred milliseconds. Time of threads that
 * ended between two readings is lost, so use it for processes whose threads live on (a Node
 * worker's). Returns undefined when the process is gone.
 */
export function cpuRuntime(pid) {
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {} // the thread ended between readdir and read
  }
  return ns / 1e9;
}

/**
 * CPU seconds used between two {@link cpuSeconds} samples, `{ user, sys, total }`, over all
 * pids. Each pid counts the larger of its two measures: the process-wide figure was seen
 * frozen for TThreadedServer under load, and the live-thread sum loses threads that end.
 */
export function cpuDelta(before, after) {
  const sum = { user: 0, sys: 0, total: 0 };
  for (const [pid, a] of after) {
    const b = before.get(pid);
    if (!b) continue;
    const whole = a.whole.total - b.whole.total;
    const tasks = a.tasks.total - b.tasks.total;
    const [x, y] = whole >= tasks ? [a.whole, b.whole] : [a.tasks, b.tasks];
    sum.user += Math.max(0, x.user - y.user);
    sum.sys += Math.max(0, x.sys - y.sys);
    sum.total += Math.max(0, x.total - y.total);
  }
  return sum;
}

/** Resident set size in bytes of each pid, keyed by pid. */
export function rssBytes(pids) {
  const out = new Map();
  for (const pid of pids) {
    try {
      const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
      out.set(pid, Number(statm[1]) * PAGE_SIZE);
    } catch {}
  }
  return out;
}

/** Kills every process group this run started (SIGTERM, then SIGKILL). */
export async function stopAll() {
  await Promise.all([...live].map(stopGroup));
}

// --- internal ---

/** Spawns `command` as the leader of a process group the run ends; keeps its last stderr bytes. */
function spawnGroup(label, command, args, env) {
  hookExit();
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  const entry = { child, label };
  live.add(entry);
  let err = '';
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  return { entry, child, stderr: () => err };
}

function stopGroup(entry) {
  const { child } = entry;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {}
    };
    const timer = setTimeout(() => kill('SIGKILL'), 4000);
    child.once('exit', () => {
      clearTimeout(timer);
      // Whatever the leader left behind in its group goes too.
      kill('SIGKILL');
      live.delete(entry);
      resolve();
    });
    kill('SIGTERM');
  });
}

function hookExit() {
  if (hooked) return;
  hooked = true;
  const killNow = () => {
    for (const { child } of live) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  };
  process.on('exit', killNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping every process the bench started`);
      killNow();
      process.exit(130);
    });
  }
}

function readStat(file) {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]) / CLK_TCK;
    const sys = Number(fields[12]) / CLK_TCK;
    return { user, sys, total: user + sys };
  } catch {
    return undefined;
  }
}

function sysconf(name, fallback) {
  try {
    return execFileSync('getconf', [name], { encoding: 'utf8' }).trim() || fallback;
  } catch {
    return fallback;
  }
}
