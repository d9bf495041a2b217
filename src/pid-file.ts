/**
 * The pid file: the master's lock and address. `rpc start` creates it exclusively; every other
 * command reads it to find the master, and a file whose process is gone is stale: detected,
 * removed, reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AlreadyRunningError, NotRunningError, PermissionError } from './host-errors.js';

/** What {@link acquirePidFile} found and did. */
export interface AcquireResult {
  /** Pid of a dead master whose stale pid file was removed. */
  staleRemoved?: number;
}

/**
 * Creates `file` holding `pid`, atomically: only one master per pid file.
 * @throws AlreadyRunningError naming the live pid; PermissionError when the folder is not writable.
 */
export function acquirePidFile(file: string, pid = process.pid): AcquireResult {
  const result: AcquireResult = {};
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (err) {
    throw ioError(err, `create the pid file folder ${path.dirname(file)}`);
  }
  // Written aside, then hard-linked into place: link() fails if the pid file exists, and a
  // reader never sees a half-written file (which it would take for a stale one).
  const tmp = `${file}.${pid}.tmp`;
  try {
    fs.writeFileSync(tmp, `${pid}\n`);
  } catch (err) {
    throw ioError(err, `write the pid file ${file}`);
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (createExclusive(tmp, file, pid)) return result;
      const other = readPidFile(file);
      if (other !== undefined && other !== pid && isProcessAlive(other))
        throw new AlreadyRunningError(other, file);
      result.staleRemoved = other ?? result.staleRemoved;
      removeFile(file);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  throw new PermissionError(`Could not create the pid file ${file}: another process keeps recreating it`);
}

/**
 * The pid of the running master, for commands that need one.
 * @throws NotRunningError when there is no pid file, or a stale one (which it removes, along with
 *   the stale control socket `extraFiles`).
 */
export function findRunningMaster(file: string, extraFiles: string[] = []): number {
  const pid = readPidFile(file);
  if (pid === undefined) {
    if (fs.existsSync(file)) {
      removeFile(file);
      throw new NotRunningError(`thrifthost is not running (removed unreadable pid file ${file})`);
    }
    throw new NotRunningError(`thrifthost is not running (no pid file at ${file})`);
  }
  if (!isProcessAlive(pid)) {
    removeFile(file);
    for (const extra of extraFiles) removeFile(extra);
    throw new NotRunningError(
      `thrifthost is not running (pid ${pid} in ${file} is gone; removed the stale pid file)`,
    );
  }
  return pid;
}

/** The pid in `file`; undefined when it is missing or holds no pid. */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(err, `read the pid file ${file}`);
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Removes `file` if it still holds `pid` (a newer master may have replaced it). */
export function releasePidFile(file: string, pid = process.pid): void {
  try {
    if (readPidFile(file) === pid) fs.unlinkSync(file);
  } catch {
    // best effort at exit
  }
}

/**
 * True if a process with this pid runs (also when it belongs to another user). A zombie (exited,
 * not yet reaped: a detached master waits for init to reap it) counts as gone.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

// --- internal ---

/** Puts `tmp` in place as `file`; false if `file` exists. */
function createExclusive(tmp: string, file: string, pid: number): boolean {
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
  }
  // A filesystem without hard links: an exclusive create is the next best thing.
  try {
    fs.writeFileSync(file, `${pid}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(err, `write the pid file ${file}`);
  }
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no /proc (not Linux): trust kill(0)
  }
}

function removeFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, `remove the stale file ${file}`);
  }
}

function ioError(err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new PermissionError(
      `Permission denied: cannot ${what} (${code}); run as its owner or change "pidFile"`,
      {
        cause: err,
      },
    );
  }
  return err as Error;
}
