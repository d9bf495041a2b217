/**
 * The cluster primary: one {@link WorkerGroup} per configured service, started together,
 * reloaded service by service, asked for figures, stopped together. Operations that change the
 * worker set (reload, stop) run one at a time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackoffOptions } from '../common/backoff.js';
import type { CallRatesView } from '../monitoring/call-rates.js';
import type { HostConfig } from '../config/config.js';
import type { Readiness } from '../monitoring/health-http.js';
import { ReloadError, StartError, WorkerNotFoundError } from '../host/host-errors.js';
import type { CustomMetricSnapshot } from '../monitoring/custom-metrics.js';
import type { FailureRecord, MethodStats } from '../host/ipc.js';
import type { Logger } from '../host/logger.js';
import type { RegistrationStatus } from '../registry/etcd-registration.js';
import type { ForkOptions, ManagedWorker, WorkerState } from './managed-worker.js';
import type { ProcessFigures } from '../monitoring/process-figures.js';
import { packageVersion } from '../version.js';
import { type Replacement, WorkerGroup } from './worker-group.js';

/** Supervisor options. */
export interface SupervisorOptions {
  config: HostConfig;
  logger: Logger;
  /** Worker entry module. @default `dist/src/worker/thrift-worker-main.js` */
  workerExec?: string;
  backoff?: BackoffOptions;
  /** How long `status` waits for each worker's figures. @default 1000 */
  statsTimeoutMs?: number;
  /** Forks a worker; replaceable in tests. */
  forkWorker?: (options: ForkOptions) => ManagedWorker;
  /**
   * The master accepts each service's connections and hands them to the workers with an
   * acknowledgement (connection-dispatcher.ts). False leaves accepting to node:cluster's
   * round-robin primary, which loses a connection sent to a worker that dies before taking it;
   * kept for comparison benchmarks.
   * @default true
   */
  masterAccepts?: boolean;
}

/** One row of `rpc status`. Figures the worker did not report in time are null. */
export interface WorkerStatus {
  pid: number;
  service: string;
  listen: string;
  state: WorkerState;
  generation: number;
  startedAt: number;
  uptimeMs: number;
  restarts: number;
  connections: number | null;
  requests: number | null;
  errors: number | null;
  rssBytes: number | null;
  methods: Record<string, MethodStats>;
  /** Slot in its service's group, and the worker's latest failures (for the stats dashboard). */
  slot?: number;
  recentFailures?: FailureRecord[];
  /** Event-loop delay, heap and GC of the worker process, when it answered. */
  process?: ProcessFigures;
  /** The handlers' own metrics, when the worker answered. */
  custom?: CustomMetricSnapshot[];
}

/** The master's header of `rpc status`. */
export interface MasterStatus {
  pid: number;
  version: string;
  config: string;
  startedAt: number;
  uptimeMs: number;
  loadavg: number[];
  rssBytes: number;
  generation: number;
  workers: { total: number; listening: number; starting: number; draining: number; expected: number };
}

/** What `rpc status --json` prints. */
export interface HostStatus {
  master: MasterStatus;
  workers: WorkerStatus[];
  /** Calls per second per method over the last interval; added by the master for `rpc status`. */
  rates?: CallRatesView;
  /** The host's registration in etcd; added by the master when the config has a `registry`. */
  registry?: RegistrationStatus;
}

/** What `rpc reload` prints. */
export interface ReloadResult {
  durationMs: number;
  services: { service: string; replaced: Replacement[] }[];
}

/**
 * Runs the worker groups of one host configuration.
 *
 * @example
 * const supervisor = new Supervisor({ config: loadHostConfig(), logger: createLogger() });
 * await supervisor.start(); // every worker listens
 * await supervisor.reload(); // every worker replaced, one at a time
 * await supervisor.stop();
 */
export class Supervisor {
  readonly startedAt = Date.now();
  private readonly options: SupervisorOptions;
  private readonly groups: WorkerGroup[];
  private generation = 1;
  private statsId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    this.options = options;
    const { config } = options;
    const exec = options.workerExec ?? defaultWorkerExec();
    this.groups = config.services.map(
      (service) =>
        new WorkerGroup(service, {
          logger: options.logger,
          // user/group: the worker drops privileges itself, after it listens.
          fork: { exec, logLevel: config.logLevel, gracefulTimeoutMs: config.gracefulTimeoutMs },
          masterAccepts: options.masterAccepts ?? true,
          ...(options.backoff ? { backoff: options.backoff } : {}),
          ...(options.forkWorker ? { forkWorker: options.forkWorker } : {}),
        }),
    );
  }

  /**
   * Forks every worker and resolves once all listen.
   * @throws StartError with the first failure (port in use, handler threw on load, ...); every
   *   worker is gone by then.
   */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.groups.map((g) => g.start(this.generation)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(this.groups.map((g) => g.stop()));
      const err = failed.reason as Error;
      throw err instanceof StartError ? err : new StartError(err.message, { cause: err });
    }
    const total = this.groups.reduce((n, g) => n + g.service.count, 0);
    this.options.logger.info(
      { workers: total, services: this.groups.map((g) => g.service.name) },
      `thrifthost ${packageVersion()} started: ${total} workers for ${this.groups.map((g) => g.service.name).join(', ')}`,
    );
  }

  /**
   * Rolling reload of every service, one service and one worker at a time.
   * @throws ReloadError naming the service and reason; workers not yet replaced keep serving.
   */
  reload(): Promise<ReloadResult> {
    return this.exclusive(async () => {
      if (this.stopped) throw new ReloadError('Cannot reload: thrifthost is stopping');
      const t0 = Date.now();
      this.generation++;
      this.options.logger.info(
        { generation: this.generation },
        `rolling reload to generation ${this.generation}`,
      );
      const services: ReloadResult['services'] = [];
      for (const group of this.groups) {
        services.push({ service: group.service.name, replaced: await group.reload(this.generation) });
      }
      const durationMs = Date.now() - t0;
      this.options.logger.info(
        { generation: this.generation, durationMs },
        `reload finished in ${durationMs} ms`,
      );
      return { durationMs, services };
    });
  }

  /**
   * Replaces the worker `pid` (fork, wait until it listens, drain the old one); resolves once the
   * old one has exited. Queued behind a running reload.
   * @throws WorkerNotFoundError when `pid` serves no slot; ReloadError when the successor fails
   */
  restartWorker(pid: number): Promise<Replacement & { service: string }> {
    return this.exclusive(async () => {
      if (this.stopped) throw new ReloadError(`Cannot restart worker ${pid}: thrifthost is stopping`);
      for (const group of this.groups) {
        const replaced = await group.restartWorker(pid);
        if (replaced) return { service: group.service.name, ...replaced };
      }
      throw new WorkerNotFoundError(pid);
    });
  }

  /** Figures of the master and of every worker, collected with a timeout. */
  async status(): Promise<HostStatus> {
    const timeout = this.options.statsTimeoutMs ?? 1000;
    const workers = this.groups.flatMap((g) => g.workers);
    const rows = await Promise.all(
      workers.map(async (w): Promise<WorkerStatus> => {
        const stats = await w.requestStats(++this.statsId, timeout);
        return {
          pid: w.pid,
          service: w.service.name,
          listen: w.listenAddress,
          state: w.state,
          generation: w.generation,
          startedAt: w.startedAt,
          uptimeMs: Date.now() - w.startedAt,
          restarts: w.restarts,
          connections: stats?.connections ?? null,
          requests: stats?.requests ?? null,
          errors: stats?.errors ?? null,
          rssBytes: stats?.rssBytes ?? null,
          methods: stats?.methods ?? {},
          slot: w.slot,
          ...(stats?.recentFailures ? { recentFailures: stats.recentFailures } : {}),
          ...(stats?.process ? { process: stats.process } : {}),
          ...(stats?.custom ? { custom: stats.custom } : {}),
        };
      }),
    );
    const count = (state: WorkerState) => rows.filter((r) => r.state === state).length;
    return {
      master: {
        pid: process.pid,
        version: packageVersion(),
        config: this.options.config.file,
        startedAt: this.startedAt,
        uptimeMs: Date.now() - this.startedAt,
        loadavg: os.loadavg(),
        rssBytes: process.memoryUsage.rss(),
        generation: this.generation,
        workers: {
          total: rows.length,
          listening: count('listening'),
          starting: count('starting'),
          draining: count('draining'),
          expected: this.groups.reduce((n, g) => n + g.service.count, 0),
        },
      },
      workers: rows,
    };
  }

  /**
   * Per service, how many workers are `listening` (they said so over IPC, which a worker does
   * once it is ready for calls); ready when each service has one and no stop has begun. Read
   * from the master's bookkeeping only: it never waits for a worker.
   */
  readiness(): Readiness {
    const services = this.groups.map((g) => ({
      service: g.service.name,
      listening: g.workers.filter((w) => w.state === 'listening').length,
      expected: g.service.count,
    }));
    return { ready: !this.stopped && services.every((s) => s.listening > 0), services };
  }

  /** Pids of every worker process still alive. */
  workerPids(): number[] {
    return this.groups.flatMap((g) => g.workers.map((w) => w.pid));
  }

  /**
   * Drains every worker (in-flight calls finish; SIGKILL after `gracefulTimeoutMs` plus a short
   * grace) and resolves when all have exited. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.options.logger.info('stopping: draining every worker');
      // Not queued behind a running reload: the groups abort it.
      await Promise.all(this.groups.map((g) => g.stop()));
      await this.queue.catch(() => {});
      this.options.logger.info('every worker has exited');
    })();
    return this.stopped;
  }

  // --- internal ---

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => {}).then(fn);
    this.queue = run;
    return run;
  }
}

function defaultWorkerExec(): string {
  const beside = path.join(__dirname, '..', 'worker', 'thrift-worker-main.js');
  if (fs.existsSync(beside)) return beside;
  // Running from TypeScript sources (tests): use the build.
  return path.resolve(__dirname, '..', '..', 'dist', 'src', 'worker', 'thrift-worker-main.js');
}
