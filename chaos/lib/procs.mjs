// Every process the chaos suite starts is registered here, so that it can be ended by pid when a
// scenario finishes, fails, times out, or the run is interrupted (SIGINT/SIGTERM). Nothing is
// ever ended by name.
import fs from 'node:fs';

/** Cleanups still to run, newest first: each ends the processes of one host or child. */
const cleanups = new Set();

/**
 * Registers `fn` (synchronous, idempotent) to end some processes; returns a function that runs
 * it once and unregisters it.
 */
export function onCleanup(fn) {
  const entry = { fn, done: false };
  const run = () => {
    if (entry.done) return;
    entry.done = true;
    cleanups.delete(entry);
    fn();
  };
  cleanups.add(entry);
  entry.run = run;
  return run;
}

/** Runs every registered cleanup (newest first). */
export function cleanupAll() {
  for (const entry of [...cleanups].reverse()) {
    try {
      entry.run();
    } catch (err) {
      console.error(`chaos: cleanup failed: ${err.message}`);
    }
  }
}

/** True if a process with this pid exists (and is not a zombie). */
export function isAlive(pid) {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** SIGKILLs `pid` if it is alive; true if a signal was sent. */
export function killPid(pid, signal = 'SIGKILL') {
  if (!isAlive(pid)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Pids whose parent is `ppid` (Linux /proc; empty elsewhere). */
export function childrenOf(ppid) {
  const out = [];
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

let installed = false;

/** Ends every registered process on SIGINT/SIGTERM/uncaught errors, then exits. */
export function installSignalCleanup() {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\nchaos: ${signal}: ending every process this run started`);
      cleanupAll();
      process.exit(130);
    });
  }
  process.on('exit', cleanupAll);
}
