/**
 * `rpc start -d`: the parent spawns a detached master (stdout/stderr appended to
 * `<logDir>/rpc.log`) with an IPC channel used for exactly one message: ready (every worker
 * listens) or failed (why). Then the parent lets go and the master runs on its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ThriftHostError } from '../common/errors.js';
import { DEFAULTS, type HostConfig, loadHostConfig } from '../config/config.js';
import { AlreadyRunningError, PermissionError, RemoteError, StartError } from '../host/host-errors.js';
import { createLogger } from '../host/logger.js';
import { startLogRotation } from '../master/log-rotation.js';
import { startMaster } from '../master/master.js';
import { readPidRecord, staleReason } from '../master/pid-file.js';
import type { HostStatus } from '../master/supervisor.js';

/** The one message a daemon sends its parent. */
export type DaemonMessage =
  | { t: 'ready'; status: HostStatus }
  | { t: 'failed'; code: string; message: string };

/** How long the parent waits for the daemon's verdict. */
export const DAEMON_READY_TIMEOUT_MS = 60_000;

/** Log file of a detached master. */
export function daemonLogFile(config: HostConfig): string {
  return path.join(config.logDir, 'rpc.log');
}

/**
 * Parent side: validates the config, refuses if a master runs, spawns the daemon and waits
 * until it is ready.
 * @returns the daemon's status once every worker listens, and notes to print (stale pid file)
 * @throws ConfigError, AlreadyRunningError, PermissionError, StartError, or the daemon's own error
 */
export async function spawnDaemon(
  configFile: string,
  options: { watch?: boolean | undefined } = {},
): Promise<{ status: HostStatus; notes: string[]; log: string }> {
  const config = loadHostConfig(configFile);
  const notes: string[] = [];
  const running = readPidRecord(config.pidFile);
  if (running !== undefined) {
    const stale = staleReason(running);
    if (stale === undefined) throw new AlreadyRunningError(running.pid, config.pidFile);
    fs.rmSync(config.pidFile, { force: true });
    notes.push(`removed stale pid file ${config.pidFile} (${stale})`);
  }
  const log = daemonLogFile(config);
  let fd: number;
  try {
    fs.mkdirSync(config.logDir, { recursive: true });
    fd = fs.openSync(log, 'a');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new PermissionError(
        `Permission denied: cannot write the log file ${log} (${code}); change "logDir"`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  const child = spawn(
    process.execPath,
    [
      path.join(__dirname, 'main.js'),
      'start',
      '--config',
      config.file,
      '--daemon-child',
      ...(options.watch ? ['--watch'] : []),
    ],
    {
      detached: true,
      stdio: ['ignore', fd, fd, 'ipc'],
      env: { ...process.env, THRIFTHOST_LOG_JSON: '1' },
    },
  );
  fs.closeSync(fd);
  const message = await waitForVerdict(child, log);
  if (message.t === 'failed') throw new RemoteError(message.code, `${message.message} (log: ${log})`);
  child.disconnect();
  child.unref();
  return { status: message.status, notes, log };
}

/**
 * Daemon side (`rpc start --daemon-child`): runs the master, reports ready or failed to the
 * parent, then serves until stopped.
 */
export async function runDaemonChild(
  configFile: string,
  options: { watch?: boolean | undefined } = {},
): Promise<void> {
  try {
    const config = loadHostConfig(configFile);
    const logger = createLogger({ level: config.logLevel });
    const master = await startMaster({ config, logger, watch: options.watch ?? false });
    // SIGUSR2 rotates now; without "logRotate" it only copies when asked.
    const rotation = startLogRotation(
      { file: daemonLogFile(config), daily: false, maxBytes: 0, keep: DEFAULTS.logRotateKeep, ...config.logRotate },
      logger,
    );
    if (!config.logRotate) rotation.close();
    process.on('SIGUSR2', () => rotation.rotate());
    await tellParent({ t: 'ready', status: await master.supervisor.status() });
    process.disconnect?.();
    await master.done;
    rotation.close();
    logger.info('master exiting');
  } catch (err) {
    const code = err instanceof ThriftHostError ? err.code : 'ERR_INTERNAL';
    await tellParent({ t: 'failed', code, message: (err as Error).message });
    throw err;
  }
}

// --- internal ---

function tellParent(message: DaemonMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function waitForVerdict(child: ChildProcess, log: string): Promise<DaemonMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(
        new StartError(
          `The master (pid ${child.pid}) did not report ready within ${DAEMON_READY_TIMEOUT_MS} ms; see ${log}`,
        ),
      );
    }, DAEMON_READY_TIMEOUT_MS);
    child.once('message', (message: DaemonMessage) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new StartError(
          `The master (pid ${child.pid}) exited (${signal ? `signal ${signal}` : `code ${code}`}) before reporting; see ${log}`,
        ),
      );
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new StartError(`Cannot spawn the master: ${err.message}`, { cause: err }));
    });
  });
}
