/**
 * How CLI commands reach the running master: find its pid through the pid file (cleaning up a
 * stale one), then send one control request over the socket beside it. A master whose pid file
 * was deleted by hand still answers on its socket: the request goes there. A socket file is
 * removed only when nothing answers on it.
 */
import type { HostConfig } from '../config/config.js';
import { type ControlCommand, controlRequest, probeControlSocket, removeStaleSocket } from '../master/control.js';
import { ControlError, NotRunningError, StoppingError } from '../host/host-errors.js';
import { findRunningMaster, isProcessAlive, type PidRecord, readPidRecord } from '../master/pid-file.js';
import { type CommonOptions, loadForControl } from './options.js';

/** The master's answer plus who answered. */
export interface MasterReply<T> {
  /** The pid in the pid file; undefined when the master was reached through its socket alone. */
  pid: number | undefined;
  config: HostConfig;
  result: T;
}

/**
 * Sends `cmd` to the master of the config in `options`.
 * @throws NotRunningError (no or stale pid file), StoppingError (the master is stopping and its
 *   socket already closed), ControlError (no answer), RemoteError (the master's own error),
 *   PermissionError
 */
export async function requestMaster<T>(
  options: CommonOptions,
  cmd: ControlCommand,
  timeoutMs = 10_000,
): Promise<MasterReply<T>> {
  const { config, socket } = loadForControl(options);
  let record: PidRecord | undefined;
  try {
    record = findRunningMaster(config.pidFile);
  } catch (err) {
    if (!(err instanceof NotRunningError)) throw err;
    const found = await probeControlSocket(socket);
    if (found === 'stale') removeStaleSocket(socket);
    if (found !== 'answers') throw err;
  }
  const pid = record?.pid;
  try {
    const result = (await controlRequest(socket, cmd, { timeoutMs })) as T;
    return { pid, config, result };
  } catch (err) {
    if (pid === undefined || !(err instanceof ControlError)) throw err;
    if (record?.stopping || stoppedSince(config.pidFile, pid)) throw new StoppingError(pid, config.pidFile);
    const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
    if (errno === 'ENOENT' || errno === 'ECONNREFUSED') {
      throw new ControlError(
        `pid ${pid} from ${config.pidFile} is alive but nothing answers on ${socket}: it is still starting, ` +
          `or it is not a thrifthost master (then delete ${config.pidFile})`,
        { cause: err },
      );
    }
    throw err;
  }
}

// --- internal ---

/**
 * True if the master `pid` began to stop after its pid file was read: the file is marked now, or
 * already gone while the process is still exiting. (It closes its socket before it removes the
 * file, and the file was read before the request failed.)
 */
function stoppedSince(pidFile: string, pid: number): boolean {
  const now = readPidRecord(pidFile);
  if (now === undefined) return isProcessAlive(pid);
  return now.pid === pid && now.stopping === true;
}
