/**
 * How CLI commands reach the running master: find its pid through the pid file (cleaning up a
 * stale one), then send one control request over the socket beside it. A master whose pid file
 * was deleted by hand still answers on its socket: the request goes there. A socket file is
 * removed only when nothing answers on it.
 */
import type { HostConfig } from '../config/config.js';
import { type ControlCommand, controlRequest, probeControlSocket, removeStaleSocket } from '../master/control.js';
import { ControlError, NotRunningError } from '../host/host-errors.js';
import { findRunningMaster } from '../master/pid-file.js';
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
 * @throws NotRunningError (no or stale pid file), ControlError (no answer), RemoteError (the
 *   master's own error), PermissionError
 */
export async function requestMaster<T>(
  options: CommonOptions,
  cmd: ControlCommand,
  timeoutMs = 10_000,
): Promise<MasterReply<T>> {
  const { config, socket } = loadForControl(options);
  let pid: number | undefined;
  try {
    pid = findRunningMaster(config.pidFile);
  } catch (err) {
    if (!(err instanceof NotRunningError)) throw err;
    const found = await probeControlSocket(socket);
    if (found === 'stale') removeStaleSocket(socket);
    if (found !== 'answers') throw err;
  }
  try {
    const result = (await controlRequest(socket, cmd, { timeoutMs })) as T;
    return { pid, config, result };
  } catch (err) {
    const errno = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (pid !== undefined && err instanceof ControlError && (errno === 'ENOENT' || errno === 'ECONNREFUSED')) {
      throw new ControlError(
        `pid ${pid} from ${config.pidFile} is alive but nothing answers on ${socket}: it is still starting, ` +
          `or it is not a thrifthost master (then delete ${config.pidFile})`,
        { cause: err },
      );
    }
    throw err;
  }
}
