/**
 * One worker process as the master sees it: a `node:cluster` worker plus its service, generation,
 * life-cycle state, and typed helpers for the {@link MasterMessage} / {@link WorkerMessage}
 * protocol of `src/host/ipc.ts`. The policy (when to fork, respawn, drain) lives in `worker-group.ts`.
 */
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { formatAddress, type HostPort } from '../common/address.js';
import type { ServiceConfig } from '../config/config.js';
import { StartError } from '../host/host-errors.js';
import {
  type MasterMessage,
  WORKER_ENV,
  WORKER_EXIT,
  type WorkerBootstrap,
  type WorkerMessage,
  type WorkerStats,
} from '../host/ipc.js';
import { workerDefaultEnv } from './worker-env.js';
import { workerNodeFlags } from './worker-flags.js';

/** Where a worker is in its life. */
export type WorkerState = 'starting' | 'listening' | 'draining' | 'exited';

/** How a worker process ended. */
export interface WorkerExit {
  code: number | null;
  signal: string | null;
}

/** What {@link ManagedWorker.fork} needs. */
export interface ForkOptions {
  /** Module the worker runs (`dist/src/worker/thrift-worker-main.js`). */
  exec: string;
  service: ServiceConfig;
  logLevel: string;
  gracefulTimeoutMs: number;
  generation: number;
  /** Index of the slot (0 .. count-1) this worker fills. */
  slot: number;
  /** The master accepts connections and sends them: the worker does not listen. @default false */
  masterAccepts?: boolean;
  /** Restarts of that slot so far, shown by `rpc status`. */
  restarts: number;
}

/** How long a worker may take from fork to `listening`. */
export const START_TIMEOUT_MS = 30_000;
/** How long a worker that reported `fatal` may take to exit by itself before SIGKILL. */
const FATAL_EXIT_GRACE_MS = 1_000;
/** Extra time a draining worker gets past `gracefulTimeoutMs` before SIGKILL. */
export const KILL_GRACE_MS = 2_000;
/** Longest wait, after a worker's exit, for its IPC channel to report closed. */
const CHANNEL_CLOSE_GRACE_MS = 1_000;

/**
 * A forked worker. Events: `handoff(pending: string, socket: Socket)`, `recycle(reason: string)`,
 * `accepted(id: number)`, `exit(exit: WorkerExit)`, and `gone` once the process has exited and
 * every message it sent has been read.
 */
export class ManagedWorker extends EventEmitter {
  readonly pid: number;
  readonly service: ServiceConfig;
  readonly generation: number;
  readonly slot: number;
  readonly restarts: number;
  readonly startedAt = Date.now();
  state: WorkerState = 'starting';
  /** Address reported in `listening` (differs from the config for port 0). */
  address: HostPort | undefined;
  /** The failure the worker reported before exiting, if any. */
  fatal: { code: string; message: string } | undefined;
  exitInfo: WorkerExit | undefined;
  /** Connections forwarded to this worker during reloads. */
  adopted = 0;
  /** Resolves once the worker listens; rejects with a {@link StartError} if it dies first. */
  readonly listening: Promise<void>;
  /** Resolves when the process is gone. */
  readonly exited: Promise<WorkerExit>;

  private readonly worker: Worker;
  private readonly gracefulTimeoutMs: number;
  private readonly statsWaiters = new Map<number, (stats: WorkerStats) => void>();
  private killTimer: NodeJS.Timeout | undefined;
  /** Draining with `close` (its connections are closed in the worker, not handed back). */
  private closing = false;

  /** Forks a worker process for `options.service`. */
  static fork(options: ForkOptions): ManagedWorker {
    const bootstrap: WorkerBootstrap = {
      service: options.service,
      logLevel: options.logLevel,
      gracefulTimeoutMs: options.gracefulTimeoutMs,
      generation: options.generation,
      masterAccepts: options.masterAccepts ?? false,
    };
    cluster.setupPrimary({
      exec: options.exec,
      args: [],
      execArgv: [...process.execArgv, ...workerNodeFlags(options.service)],
    });
    const worker = cluster.fork({
      ...workerDefaultEnv(options.service.hugePages ?? false),
      ...options.service.env,
      [WORKER_ENV]: JSON.stringify(bootstrap),
    });
    return new ManagedWorker(worker, options);
  }

  private constructor(worker: Worker, options: ForkOptions) {
    super();
    this.worker = worker;
    this.pid = worker.process.pid ?? -1;
    this.service = options.service;
    this.generation = options.generation;
    this.slot = options.slot;
    this.restarts = options.restarts;
    this.gracefulTimeoutMs = options.gracefulTimeoutMs;

    let settle: { resolve(): void; reject(err: Error): void } | undefined;
    this.listening = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A worker that dies later must not surface as an unhandled rejection.
    this.listening.catch(() => {});
    const startTimer = setTimeout(() => {
      settle?.reject(
        new StartError(`Worker ${this.pid} of ${this.name} did not listen within ${START_TIMEOUT_MS} ms`),
      );
      settle = undefined;
      this.kill('SIGKILL');
    }, START_TIMEOUT_MS);
    startTimer.unref();

    // 'exit' may come before the last messages of the channel are read (an `accepted` among
    // them): `gone` waits for the channel to close as well.
    let channelOpen = worker.isConnected();
    let goneEmitted = false;
    const emitGone = () => {
      if (goneEmitted || this.state !== 'exited') return;
      if (channelOpen) {
        // The channel of a dead process closes at once; do not depend on it entirely.
        setTimeout(() => {
          channelOpen = false;
          emitGone();
        }, CHANNEL_CLOSE_GRACE_MS).unref();
        return;
      }
      goneEmitted = true;
      this.emit('gone');
    };
    worker.on('disconnect', () => {
      channelOpen = false;
      emitGone();
    });
    this.exited = new Promise<WorkerExit>((resolve) => {
      worker.on('exit', (code: number | null, signal: string | null) => {
        clearTimeout(startTimer);
        clearTimeout(this.killTimer);
        const wasStarting = this.state === 'starting';
        this.state = 'exited';
        this.exitInfo = { code, signal };
        if (wasStarting && settle) settle.reject(this.startFailure(code, signal));
        settle = undefined;
        resolve(this.exitInfo);
        this.emit('exit', this.exitInfo);
        emitGone();
      });
    });

    worker.on('message', (msg: WorkerMessage, handle?: unknown) => {
      if (typeof msg !== 'object' || msg === null) return;
      switch (msg.t) {
        case 'listening':
          this.address = msg.address;
          if (this.state === 'starting') this.state = 'listening';
          clearTimeout(startTimer);
          settle?.resolve();
          settle = undefined;
          break;
        case 'fatal':
          this.fatal = { code: msg.code, message: msg.message };
          if (this.state === 'starting') {
            // Fail fast: do not wait for the exit (a worker whose IPC channel is open may linger).
            clearTimeout(startTimer);
            settle?.reject(this.startFailure(null, null));
            settle = undefined;
            this.armKill(FATAL_EXIT_GRACE_MS);
          }
          break;
        case 'stats':
          this.statsWaiters.get(msg.id)?.(msg.stats);
          break;
        case 'handoff':
          this.emit('handoff', msg.pending, handle as Socket | undefined);
          break;
        case 'recycle':
          this.emit('recycle', msg.reason);
          break;
        case 'accepted':
          this.emit('accepted', msg.id);
          break;
      }
    });
    // EPIPE on a channel that just closed: the exit event tells the rest.
    worker.on('error', () => {});
  }

  /** `Service` label used in logs. */
  get name(): string {
    return this.service.name;
  }

  /** The address to show: what the worker reported, else the configured one. */
  get listenAddress(): string {
    return formatAddress(this.address ?? this.service.listen);
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.state !== 'exited';
  }

  /**
   * Asks the worker to stop accepting, hand back idle connections (or, with `close`, close them
   * when idle: a stop, where no worker adopts them) and exit. SIGKILLs it if it is still there
   * `gracefulTimeoutMs + KILL_GRACE_MS` later. A worker still starting is terminated instead: it
   * has no connections to finish. A worker draining with hand-off (a reload) that is asked to
   * `close` (a stop) closes the connections it has left instead of handing them back.
   */
  drain(close = false): void {
    if (!this.alive) return;
    if (this.state === 'draining') {
      // A stop during a reload: the master would destroy what the worker hands back, with the
      // calls its clients have written meanwhile.
      if (close && !this.closing) {
        this.closing = true;
        this.send({ t: 'drain', close });
        // The stop's grace counts from the stop, as the worker's now does, not from the reload.
        this.armKill(this.gracefulTimeoutMs + KILL_GRACE_MS);
      }
      return;
    }
    if (this.state === 'starting') {
      this.kill('SIGTERM');
      this.armKill(KILL_GRACE_MS);
      return;
    }
    this.state = 'draining';
    this.closing = close;
    if (!this.send({ t: 'drain', close })) this.kill('SIGTERM');
    this.armKill(this.gracefulTimeoutMs + KILL_GRACE_MS);
  }

  /** Sends a signal to the process; no-op once it has exited. */
  kill(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      this.worker.process.kill(signal);
    } catch {
      // Already gone: the exit event follows.
    }
  }

  /** Asks for the worker's figures; resolves undefined if it does not answer within `timeoutMs`. */
  requestStats(id: number, timeoutMs: number): Promise<WorkerStats | undefined> {
    if (!this.alive) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (stats: WorkerStats | undefined) => {
        clearTimeout(timer);
        this.statsWaiters.delete(id);
        resolve(stats);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      timer.unref();
      this.statsWaiters.set(id, done);
      if (!this.send({ t: 'stats', id })) done(undefined);
    });
  }

  /**
   * Gives the worker a connection another worker handed back, with the bytes already read from
   * it. Resolves false if it could not be sent (the caller then closes the socket).
   */
  adopt(pending: string, socket: Socket): Promise<boolean> {
    return new Promise((resolve) => {
      if (!this.alive || !this.worker.isConnected()) return resolve(false);
      this.adopted++;
      const message: MasterMessage = { t: 'adopt', pending };
      try {
        this.worker.send(message, socket, { keepOpen: false }, (err) => resolve(!err));
      } catch {
        resolve(false);
      }
    });
  }

  /**
   * Sends a connection the master accepted. The master's copy stays open until the worker
   * answers `accepted` (see connection-dispatcher.ts). Resolves false if it could not be sent.
   */
  offer(id: number, socket: Socket): Promise<boolean> {
    return new Promise((resolve) => {
      if (!this.alive || !this.worker.isConnected()) return resolve(false);
      const message: MasterMessage = { t: 'connection', id };
      try {
        this.worker.send(message, socket, { keepOpen: true }, (err) => resolve(!err));
      } catch {
        resolve(false);
      }
    });
  }

  // --- internal ---

  private send(message: MasterMessage): boolean {
    if (!this.worker.isConnected()) return false;
    try {
      this.worker.send(message, undefined, undefined, () => {});
      return true;
    } catch {
      return false;
    }
  }

  private armKill(afterMs: number): void {
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.kill('SIGKILL'), afterMs);
    this.killTimer.unref();
  }

  private startFailure(code: number | null, signal: string | null): StartError {
    const where = `Worker ${this.pid} of ${this.name} (${this.listenAddress})`;
    if (this.fatal) {
      return new StartError(`${where}: ${this.fatal.message}`, { workerCode: this.fatal.code });
    }
    const why =
      code === WORKER_EXIT.LOAD_FAILED
        ? 'could not load its service or handler'
        : code === WORKER_EXIT.LISTEN_FAILED
          ? 'could not listen'
          : signal
            ? `was killed by ${signal}`
            : `exited with code ${code}`;
    return new StartError(`${where} ${why} before listening (see the log)`);
  }
}
