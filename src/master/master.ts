/**
 * The master process's life: take the pid file, open the control socket, start the supervisor,
 * serve `status`/`reload`/`stop` until a stop request or SIGINT/SIGTERM, then drain, clean up
 * and resolve. Used by `rpc start` in the foreground and by the detached daemon alike. Optional
 * parts: the statistics/admin listener (`stats` in the config) and the file watcher (`--watch`).
 */
import type { AdminActions } from '../monitoring/admin-http.js';
import { type RatedStatus, trackCallRates } from '../monitoring/call-rates.js';
import type { HostConfig } from '../config/config.js';
import { type ControlServer, controlSocketPath, listenControl } from './control.js';
import { type FileWatcher, reloadOnChange } from './file-watcher.js';
import { StartError } from '../host/host-errors.js';
import type { Logger } from '../host/logger.js';
import { acquirePidFile, markPidFileStopping, releasePidFile } from './pid-file.js';
import { type EtcdRegistration, startHostRegistration } from '../registry/etcd-registration.js';
import { renderPrometheusSd } from '../registry/prometheus-sd.js';
import { checkStatsAccess, type StatsServer, startStatsServer } from '../monitoring/stats-server.js';
import { type HostStatus, Supervisor, type SupervisorOptions } from './supervisor.js';

/** Options of {@link runMaster}. */
export interface MasterOptions {
  config: HostConfig;
  logger: Logger;
  /** Passed to the {@link Supervisor}. */
  supervisor?: Partial<SupervisorOptions>;
  /** Reload the workers when handler or generated files change (`rpc start --watch`). @default false */
  watch?: boolean;
}

/** The master's answer to a `stop` control request. */
export interface StopReply {
  /** The master's pid, then its workers': the CLI waits until each has exited. */
  pids: number[];
  /** A stop (a request, a signal, the admin API) had begun before this request. */
  alreadyStopping: boolean;
}

/** A running master. */
export interface Master {
  supervisor: Supervisor;
  /** Resolves after a stop (request or signal) has drained everything and removed the pid file. */
  done: Promise<void>;
  /** Starts a graceful stop; same as `rpc stop`. */
  stop(): Promise<void>;
}

/**
 * Starts a master in this process. Resolves once every worker listens.
 * @throws AlreadyRunningError, PermissionError, StartError, ControlError; nothing is left
 *   running and the pid file is released when it throws.
 *
 * @example
 * const master = await startMaster({ config: loadHostConfig(), logger: createLogger() });
 * await master.done; // after SIGINT/SIGTERM or `rpc stop`
 */
export async function startMaster(options: MasterOptions): Promise<Master> {
  const { config, logger } = options;
  const acquired = acquirePidFile(config.pidFile);
  if (acquired.staleRemoved !== undefined) {
    logger.warn(
      { pidFile: config.pidFile },
      `removed stale pid file of pid ${acquired.staleRemoved} (${acquired.staleReason})`,
    );
  }
  let control: ControlServer | undefined;
  let supervisor: Supervisor | undefined;
  let stats: StatsServer | undefined;
  let watcher: FileWatcher | undefined;
  let rated: RatedStatus<HostStatus> | undefined;
  let registration: EtcdRegistration | undefined;
  let stopping: Promise<void> | undefined;
  let stopRequested = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Before anything closes: a command that finds the control socket gone from here on
      // reads in the pid file that this master is stopping (see pid-file.ts).
      markPidFileStopping(config.pidFile);
      // Callers watching the registry must stop picking this host before its workers drain.
      await registration?.deregister();
      watcher?.close();
      rated?.close();
      await stats?.close();
      await supervisor?.stop();
      await control?.close();
      releasePidFile(config.pidFile);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveDone();
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`${signal} again while stopping: killing every worker now`);
      for (const pid of supervisor?.workerPids() ?? []) killQuietly(pid);
      return;
    }
    logger.info(`${signal} received: graceful stop`);
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Missing statistics/admin credentials fail the start before anything is forked.
    if (config.stats) checkStatsAccess(config.stats);
    const sup = new Supervisor({ config, logger, ...options.supervisor });
    supervisor = sup;
    const rates = trackCallRates(() => sup.status());
    rated = rates;
    const withRates = {
      status: async () => {
        const status = await rates.status();
        return registration ? { ...status, registry: registration.status() } : status;
      },
    };
    control = await listenControl(controlSocketPath(config.pidFile), {
      status: () => withRates.status(),
      reload: () => sup.reload(),
      stop: async (): Promise<StopReply> => {
        const pids = [process.pid, ...sup.workerPids()];
        if (stopping || stopRequested) {
          logger.info('stop requested while stopping: the stop under way goes on');
          return { pids, alreadyStopping: true };
        }
        // Answer first: the CLI then waits for these pids to disappear. A second request before
        // the stop begins is told that one is under way.
        stopRequested = true;
        setImmediate(() => void stop());
        return { pids, alreadyStopping: false };
      },
    }, config.pidFile);
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    if (config.stats) {
      // Up before the workers, so probes see /healthz answer and /readyz say 503 during a start.
      // Admin operations that change workers wait until the start is over.
      const admin: AdminActions = {
        status: () => withRates.status(),
        reload: () => started.then(() => sup.reload()),
        stopPids: () => [process.pid, ...sup.workerPids()],
        stop,
        restartWorker: (pid) => started.then(() => sup.restartWorker(pid)),
      };
      const serviceDiscovery = config.registry
        ? async () => renderPrometheusSd((await registration?.fleet()) ?? [])
        : undefined;
      stats = await startStatsServer(config.stats, { collect: () => sup.status() }, logger, {
        admin,
        readiness: sup,
        ...(serviceDiscovery ? { serviceDiscovery } : {}),
      });
    }
    await sup.start();
    markStarted();
    // Announced once every worker listens.
    registration = await startHostRegistration(config, stats?.address, logger);
    if (stopping) throw new StartError('Stopped by a signal while starting');
    if (options.watch) watcher = reloadOnChange(config, () => sup.reload(), logger);
    return { supervisor: sup, done, stop };
  } catch (err) {
    await registration?.deregister();
    await stop();
    throw err;
  }
}

// --- internal ---

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
