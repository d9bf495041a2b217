/**
 * The pid file: the master's lock and address. `rpc start` creates it exclusively; every other
 * command reads it to find the master, and a file whose process is gone is stale: detected,
 * removed, reported.
 *
 * Format: the pid on the first line, the master's start time on the second (field 22 of
 * /proc/<pid>/stat, clock ticks since boot), and `stopping` on a third once the master began to
 * stop. A pid alone does not identify the master: once it died, the kernel may give its pid to
 * any other process, and the file would then name a live process that is not thrifthost. A live
 * pid whose start time differs from the recorded one is such a recycled pid: the file is stale.
 * A file without a start time (older version, written by hand) or a system without /proc falls
 * back to the pid alone. The master closes its control socket before it removes the file: a
 * command that finds the file marked and nothing answering knows the master is on its way out,
 * not still starting.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AlreadyRunningError, NotRunningError, PermissionError } from '../host/host-errors.js';

/** The third line of a pid file whose master began to stop. */
const STOPPING = 'stopping';

/** What {@link acquirePidFile} found and did. */
export interface AcquireResult {
  /** Pid of a dead master whose stale pid file was removed. */
  staleRemoved?: number;
  /** Why that file was stale: `pid 123 is gone` or `pid 123 now belongs to another process`. */
  staleReason?: string;
}

/** What a pid file records. */
export interface PidRecord {
  pid: number;
  /** The process start time (/proc/<pid>/stat field 22) when the file records one. */
  startTime?: string;
  /** The master began to stop ({@link markPidFileStopping}). */
  stopping?: boolean;
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
  const content = pidFileContent(pid);
  try {
    fs.writeFileSync(tmp, content);
  } catch (err) {
    throw ioError(err, `write the pid file ${file}`);
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (createExclusive(tmp, file, content)) return result;
      const other = readPidRecord(file);
      if (other !== undefined && other.pid !== pid) {
        const stale = staleReason(other);
        if (stale === undefined) throw new AlreadyRunningError(other.pid, file);
        result.staleRemoved = other.pid;
        result.staleReason = stale;
      }
      removeFile(file);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  throw new PermissionError(`Could not create the pid file ${file}: another process keeps recreating it`);
}

/**
 * The record of the running master, for commands that need one. The control socket beside the
 * pid file is left alone: whether it is stale is for whoever can ask it (see
 * `cli/master-client.ts`).
 * @throws NotRunningError when there is no pid file, or a stale one (which it removes).
 */
export function findRunningMaster(file: string): PidRecord {
  const record = readPidRecord(file);
  if (record === undefined) {
    if (fs.existsSync(file)) {
      removeFile(file);
      throw new NotRunningError(`thrifthost is not running (removed unreadable pid file ${file})`);
    }
    throw new NotRunningError(`thrifthost is not running (no pid file at ${file})`);
  }
  const stale = staleReason(record);
  if (stale !== undefined) {
    removeFile(file);
    throw new NotRunningError(`thrifthost is not running (pid file ${file}: ${stale}; removed the stale pid file)`);
  }
  return record;
}

/** The pid in `file`; undefined when it is missing or holds no pid. */
export function readPidFile(file: string): number | undefined {
  return readPidRecord(file)?.pid;
}

/** The pid and start time in `file`; undefined when it is missing or holds no pid. */
export function readPidRecord(file: string): PidRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(err, `read the pid file ${file}`);
  }
  const [first, second, third] = text.split('\n');
  const pid = Number.parseInt(first?.trim() ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const record: PidRecord = { pid };
  const startTime = second?.trim();
  if (startTime && /^\d+$/.test(startTime)) record.startTime = startTime;
  if (third?.trim() === STOPPING) record.stopping = true;
  return record;
}

/**
 * Marks `file` as the pid file of a master that is stopping, if it still holds `pid`; replaced
 * atomically, so a reader sees the old content or the new. Best effort: a master that cannot
 * mark it stops all the same.
 */
export function markPidFileStopping(file: string, pid = process.pid): void {
  const tmp = `${file}.${pid}.tmp`;
  try {
    if (readPidFile(file) !== pid) return;
    // The second line stays, empty without /proc: the mark is always the third.
    fs.writeFileSync(tmp, `${pid}\n${processStartTime(pid) ?? ''}\n${STOPPING}\n`);
    fs.renameSync(tmp, file);
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to do
    }
  }
}

/**
 * Why the master a pid file names is not running: `pid 123 is gone`, or `pid 123 now belongs to
 * another process` (its start time is not the recorded one); undefined while it runs.
 */
export function staleReason(record: PidRecord): string | undefined {
  if (!isProcessAlive(record.pid)) return `pid ${record.pid} is gone`;
  if (record.startTime === undefined) return undefined;
  const now = processStartTime(record.pid);
  if (now === undefined || now === record.startTime) return undefined;
  return `pid ${record.pid} now belongs to another process, not the master that wrote the pid file`;
}

/** The start time of `pid` (/proc/<pid>/stat field 22), undefined without /proc. */
export function processStartTime(pid: number): string | undefined {
  const fields = procStatFields(pid);
  // Fields after "(comm)" start at field 3 (state): field 22 is index 19.
  return fields?.[19];
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

function pidFileContent(pid: number): string {
  const startTime = processStartTime(pid);
  return startTime === undefined ? `${pid}\n` : `${pid}\n${startTime}\n`;
}

/** Puts `tmp` in place as `file`; false if `file` exists. */
function createExclusive(tmp: string, file: string, content: string): boolean {
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
  }
  // A filesystem without hard links: an exclusive create is the next best thing.
  try {
    fs.writeFileSync(file, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(err, `write the pid file ${file}`);
  }
}

function isZombie(pid: number): boolean {
  // No /proc (not Linux): trust kill(0).
  return procStatFields(pid)?.[0] === 'Z';
}

/** The fields of /proc/<pid>/stat after "pid (comm) ", from the state on; undefined without /proc. */
function procStatFields(pid: number): string[] | undefined {
  try {
    // comm may hold spaces and parentheses: the fields start after the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
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
