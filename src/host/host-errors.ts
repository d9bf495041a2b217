/**
 * Errors raised by the master (supervisor, control channel, pid file) and the `rpc` CLI.
 * Each has a stable `code`; `bin/rpc` maps codes to exit codes (see `src/cli/exit-codes.ts`).
 */
import { ThriftHostError, type ThriftHostErrorOptions } from '../common/errors.js';

/** A worker could not start: its service or handler failed to load, or it could not listen. */
export class StartError extends ThriftHostError {
  /** The worker's own failure code when it sent one (e.g. `ERR_LISTEN`), else undefined. */
  readonly workerCode: string | undefined;

  constructor(message: string, options: ThriftHostErrorOptions & { workerCode?: string } = {}) {
    super('ERR_START_FAILED', message, options);
    this.workerCode = options.workerCode;
  }
}

/** A rolling reload stopped part-way; the workers not yet replaced keep serving. */
export class ReloadError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_RELOAD_FAILED', message, options);
  }
}

/** A command needs a running master and there is none. */
export class NotRunningError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_NOT_RUNNING', message, options);
  }
}

/**
 * The master is stopping and no longer answers on its control socket (its pid file says
 * `stopping`): `rpc stop` waits for it; `status` and `reload` report it.
 */
export class StoppingError extends ThriftHostError {
  readonly pid: number;

  constructor(pid: number, pidFile: string) {
    super(
      'ERR_STOPPING',
      `thrifthost is stopping (pid ${pid}, pid file ${pidFile}) and no longer answers; \`rpc stop\` waits until it is gone`,
    );
    this.pid = pid;
  }
}

/** `rpc start` while a master already runs for this pid file. */
export class AlreadyRunningError extends ThriftHostError {
  readonly pid: number;

  /** @param where how it was found; the pid file by default */
  constructor(pid: number, pidFile: string, where = `pid file ${pidFile}`) {
    super(
      'ERR_ALREADY_RUNNING',
      `thrifthost is already running (pid ${pid}, ${where}); use \`rpc stop\` or \`rpc reload\``,
    );
    this.pid = pid;
  }
}

/** The OS refused access to a pid file, control socket, log file or process. */
export class PermissionError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_PERMISSION', message, options);
  }
}

/** The master's control socket did not answer, answered garbage, or answered too much. */
export class ControlError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_CONTROL', message, options);
  }
}

/** The master answered a control request with an error; `code` is the master's own error code. */
export class RemoteError extends ThriftHostError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** `rpc gen`: an IDL file is invalid or cannot be generated, or there was nothing to generate. */
export class GenError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_GEN_FAILED', message, options);
  }
}

/**
 * The statistics/admin listener cannot start. Codes: `ERR_STATS_AUTH_REQUIRED` (bound beyond
 * loopback without user and password), `ERR_ADMIN_TOKEN_REQUIRED` (`stats.admin` without a
 * token), `ERR_STATS_LISTEN` (an address cannot be bound).
 */
export class StatsServerError extends ThriftHostError {}

/** An admin request named a worker pid that is not a live worker of this host. */
export class WorkerNotFoundError extends ThriftHostError {
  readonly pid: number;

  constructor(pid: number) {
    super('ERR_NO_SUCH_WORKER', `No serving worker with pid ${pid}; \`rpc status\` lists the workers`);
    this.pid = pid;
  }
}
