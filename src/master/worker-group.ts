/**
 * The `count` workers of one service: forks them, respawns a crashed one with back-off,
 * replaces them one at a time (rolling reload, recycle), moves connections handed back by a
 * draining worker to a live one, and drains them all on stop.
 *
 * Each of the `count` positions is a slot holding the worker that currently serves it. A
 * draining worker has left its slot; the slot already holds its replacement.
 */
import type { Socket } from 'node:net';
import { formatAddress, type HostPort } from '../common/address.js';
import { Backoff, type BackoffOptions } from '../common/backoff.js';
import type { ServiceConfig } from '../config/config.js';
import { ConnectionDispatcher } from './connection-dispatcher.js';
import { ReloadError, StartError } from '../host/host-errors.js';
import { listenFailure } from '../host/listen-failure.js';
import type { Logger } from '../host/logger.js';
import { type ForkOptions, ManagedWorker, type WorkerExit } from './managed-worker.js';

/** Everything a group needs from its supervisor. */
export interface WorkerGroupContext {
  logger: Logger;
  /** Fork options shared by every worker of the host. */
  fork: Pick<ForkOptions, 'exec' | 'logLevel' | 'gracefulTimeoutMs'>;
  backoff?: BackoffOptions;
  /** Forks a worker; replaceable in tests. @default ManagedWorker.fork */
  forkWorker?: (options: ForkOptions) => ManagedWorker;
  /**
   * The group binds the service's address and hands every connection to a worker
   * ({@link ConnectionDispatcher}); otherwise each worker listens itself through node:cluster.
   * @default false (the Supervisor sets it)
   */
  masterAccepts?: boolean;
}

/** One worker replaced during a reload. */
export interface Replacement {
  oldPid: number | undefined;
  newPid: number;
}

/** The workers of one {@link ServiceConfig}. */
export class WorkerGroup {
  readonly service: ServiceConfig;
  private readonly slots: Slot[];
  /** Every worker not yet exited, draining ones included. */
  private readonly live = new Set<ManagedWorker>();
  private generation = 0;
  private stopping = false;
  /** Accepts the connections and hands them to the workers, when the master accepts. */
  private readonly dispatcher: ConnectionDispatcher | undefined;
  /** The address the dispatcher bound (the real port for port 0). */
  private bound: HostPort | undefined;

  constructor(
    service: ServiceConfig,
    private readonly ctx: WorkerGroupContext,
  ) {
    this.service = service;
    this.slots = Array.from({ length: service.count }, (_, index) => ({
      index,
      current: undefined,
      restarts: 0,
      backoff: new Backoff(ctx.backoff),
      respawnTimer: undefined,
      replacing: undefined,
    }));
    this.dispatcher = ctx.masterAccepts
      ? new ConnectionDispatcher(
          () => this.workers.filter((w) => w.state === 'listening'),
          ctx.logger.child({ service: service.name }),
        )
      : undefined;
  }

  /** Workers not yet exited, oldest first. */
  get workers(): ManagedWorker[] {
    return [...this.live];
  }

  /**
   * Forks `count` workers and waits until each listens.
   * @throws StartError (from `host-errors.ts`) with the first worker's failure; the others are then terminated.
   */
  async start(generation: number): Promise<void> {
    this.generation = generation;
    if (this.dispatcher) {
      const listen = this.service.listen;
      try {
        this.bound = await this.dispatcher.listen(listen);
      } catch (err) {
        this.stopping = true;
        throw new StartError(
          `${this.service.name} (${formatAddress(listen)}): ${listenFailure(err as NodeJS.ErrnoException, listen)}`,
          { workerCode: 'ERR_LISTEN', cause: err },
        );
      }
    }
    const started = this.slots.map((slot) => this.forkInto(slot));
    try {
      await Promise.all(started.map((w) => w.listening));
    } catch (err) {
      this.stopping = true;
      this.dispatcher?.close();
      for (const w of started) w.drain(true);
      await Promise.all(started.map((w) => w.exited));
      this.dispatcher?.destroyPending();
      throw err;
    }
  }

  /**
   * Rolling reload: per slot, fork a worker of `generation`, wait until it listens, then drain
   * the old one. Returns once every old worker has exited.
   * @throws ReloadError if a new worker fails to start; the slots not yet replaced keep serving.
   */
  async reload(generation: number): Promise<Replacement[]> {
    this.generation = generation;
    const done: Replacement[] = [];
    const retired: Promise<WorkerExit>[] = [];
    for (const slot of this.slots) {
      if (this.stopping) throw new ReloadError(`Reload of ${this.service.name} interrupted by stop`);
      const old = slot.current;
      try {
        const fresh = await this.replace(slot, 'reload');
        done.push({ oldPid: old?.pid, newPid: fresh.pid });
        if (old) retired.push(old.exited);
      } catch (err) {
        throw new ReloadError(
          `Reload of ${this.service.name} stopped after ${done.length} of ${this.slots.length} workers: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    await Promise.all(retired);
    return done;
  }

  /**
   * Replaces one worker, as a reload does for its slot: forks its successor, waits until it
   * listens, drains it, and resolves once it has exited. Undefined when no slot of this group is
   * served by `pid` (a draining worker has left its slot already).
   * @throws ReloadError if the successor fails to start; the worker keeps serving.
   */
  async restartWorker(pid: number): Promise<Replacement | undefined> {
    let slot = this.slots.find((s) => s.current?.pid === pid);
    while (slot?.replacing) {
      await slot.replacing.catch(() => {});
      if (slot.current?.pid !== pid) slot = undefined;
    }
    const old = slot?.current;
    if (!slot || !old || this.stopping) return undefined;
    try {
      const fresh = await this.replace(slot, 'restart');
      await old.exited;
      return { oldPid: pid, newPid: fresh.pid };
    } catch (err) {
      throw new ReloadError(
        `Restart of worker ${pid} (${this.service.name}) failed: ${(err as Error).message}; it keeps serving`,
        { cause: err },
      );
    }
  }

  /** Drains every worker (force-killed after the grace period) and waits until all are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.dispatcher?.close();
    for (const slot of this.slots) clearTimeout(slot.respawnTimer);
    const all = this.workers;
    // Closed in the worker, not handed back: no worker would adopt them, and the worker still
    // reads and answers the calls their clients write after the stop began.
    for (const w of all) w.drain(true);
    await Promise.all(all.map((w) => w.exited));
    this.dispatcher?.destroyPending();
  }

  // --- internal ---

  private forkInto(slot: Slot): ManagedWorker {
    const fork = this.ctx.forkWorker ?? ManagedWorker.fork;
    const worker = fork({
      ...this.ctx.fork,
      service: this.bound ? { ...this.service, listen: this.bound } : this.service,
      generation: this.generation,
      slot: slot.index,
      restarts: slot.restarts,
      masterAccepts: this.dispatcher !== undefined,
    });
    this.live.add(worker);
    slot.current ??= worker;
    const dispatcher = this.dispatcher;
    if (dispatcher) {
      worker.on('accepted', (id: number) => dispatcher.accepted(worker, id));
      // Only once its last messages are read: an `accepted` may still be on its way.
      worker.on('gone', () => dispatcher.targetGone(worker));
      worker.listening.then(
        () => dispatcher.flush(),
        () => {},
      );
    }
    worker.on('exit', (exit: WorkerExit) => {
      dispatcher?.suspendIfIdle();
      this.onExit(slot, worker, exit);
    });
    worker.on('handoff', (pending: string, socket: Socket | undefined) =>
      this.onHandoff(worker, pending, socket),
    );
    worker.on('recycle', (reason: string) => this.onRecycle(slot, worker, reason));
    return worker;
  }

  /** Forks a successor into `slot`, waits until it listens, then drains the previous one. */
  private async replace(slot: Slot, why: string): Promise<ManagedWorker> {
    while (slot.replacing) await slot.replacing.catch(() => {});
    // A stop that began while we waited has already collected the workers to drain: forking
    // now would leave one it never stops.
    if (this.stopping) throw new ReloadError(`Replacing a ${this.service.name} worker interrupted by stop`);
    clearTimeout(slot.respawnTimer);
    slot.respawnTimer = undefined;
    const run = (async () => {
      const old = slot.current;
      const fresh = this.forkInto(slot);
      try {
        await fresh.listening;
      } catch (err) {
        // Leave no half-started worker behind: callers (reload) report only once it is gone.
        fresh.drain();
        await fresh.exited;
        // The slot lost its worker meanwhile: fall back to the crash path.
        if (!slot.current?.alive) {
          slot.current = undefined;
          this.scheduleRespawn(slot, undefined);
        }
        throw err;
      }
      slot.current = fresh;
      if (old?.alive) {
        this.ctx.logger.info(
          { service: this.service.name, oldPid: old.pid, newPid: fresh.pid, why },
          `worker ${old.pid} replaced by ${fresh.pid} (${why}); draining ${old.pid}`,
        );
        old.drain();
        this.dispatcher?.withdraw(old);
      }
      return fresh;
    })();
    slot.replacing = run;
    try {
      return await run;
    } finally {
      slot.replacing = undefined;
    }
  }

  private onExit(slot: Slot, worker: ManagedWorker, exit: WorkerExit): void {
    this.live.delete(worker);
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    const fields = {
      service: this.service.name,
      workerPid: worker.pid,
      code: exit.code,
      signal: exit.signal,
    };
    if (slot.current !== worker) {
      // Retired (drained) or a replacement that never took over.
      this.ctx.logger.info(fields, `worker ${worker.pid} exited (${how})`);
      return;
    }
    slot.current = undefined;
    if (this.stopping) {
      this.ctx.logger.info(fields, `worker ${worker.pid} exited (${how})`);
      return;
    }
    const reason = worker.fatal ? `: ${worker.fatal.code} ${worker.fatal.message}` : '';
    if (slot.replacing) {
      // A successor is already on its way into this slot.
      this.ctx.logger.warn(fields, `worker ${worker.pid} exited unexpectedly (${how})${reason}`);
      return;
    }
    this.scheduleRespawn(slot, worker, `worker ${worker.pid} exited unexpectedly (${how})${reason}`);
  }

  private scheduleRespawn(
    slot: Slot,
    died: ManagedWorker | undefined,
    why = 'replacement failed to start',
  ): void {
    if (this.stopping || slot.respawnTimer) return;
    const upFor = died ? Date.now() - died.startedAt : 0;
    const delay = slot.backoff.next(upFor);
    slot.restarts++;
    this.ctx.logger.warn(
      { service: this.service.name, slot: slot.index, delayMs: delay, restarts: slot.restarts },
      `${why}; respawning in ${delay} ms (restart ${slot.restarts} of slot ${slot.index})`,
    );
    // Respawns always go through a timer, even a short one: when Ctrl-C reaches the whole
    // process group, a worker may die of SIGINT just before the master starts stopping.
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = undefined;
      if (this.stopping || slot.current) return;
      const worker = this.forkInto(slot);
      worker.listening.then(
        () =>
          this.ctx.logger.info(
            { service: this.service.name, workerPid: worker.pid },
            `worker ${worker.pid} serving`,
          ),
        () => {}, // its exit schedules the next attempt
      );
    }, delay);
  }

  private onRecycle(slot: Slot, worker: ManagedWorker, reason: string): void {
    if (this.stopping || slot.current !== worker || slot.replacing || worker.state !== 'listening') return;
    this.ctx.logger.info(
      { service: this.service.name, workerPid: worker.pid, reason },
      `recycling worker ${worker.pid}: ${reason}`,
    );
    this.replace(slot, `recycle: ${reason}`).catch((err: Error) => {
      this.ctx.logger.error(
        { service: this.service.name, workerPid: worker.pid, err },
        `could not recycle worker ${worker.pid}: ${err.message}; it keeps serving`,
      );
    });
  }

  /**
   * A draining worker hands back an idle connection: give it to a live worker of this service,
   * preferring the newest generation, or close it when there is none (stop).
   */
  private onHandoff(from: ManagedWorker, pending: string, socket: Socket | undefined): void {
    if (!socket) return;
    socket.on('error', () => {});
    // Node starts reading a socket received over IPC right away. Bytes the master read would never
    // reach the adopting worker, so stop reading in this tick, before any I/O callback can run.
    const carried = holdSocket(socket);
    const target = this.stopping ? undefined : this.pickAdopter(from);
    if (!target) {
      socket.destroy();
      return;
    }
    const bytes =
      carried.length > 0
        ? Buffer.concat([Buffer.from(pending, 'base64'), carried]).toString('base64')
        : pending;
    target.adopt(bytes, socket).then((sent) => {
      if (!sent) socket.destroy();
    });
  }

  private pickAdopter(exclude: ManagedWorker): ManagedWorker | undefined {
    let best: ManagedWorker | undefined;
    for (const w of this.live) {
      if (w === exclude || w.state !== 'listening') continue;
      if (
        !best ||
        w.generation > best.generation ||
        (w.generation === best.generation && w.adopted < best.adopted)
      ) {
        best = w;
      }
    }
    return best;
  }
}

interface Slot {
  index: number;
  current: ManagedWorker | undefined;
  restarts: number;
  backoff: Backoff;
  respawnTimer: NodeJS.Timeout | undefined;
  replacing: Promise<ManagedWorker> | undefined;
}

/** Stops reading `socket` and returns whatever it had already buffered. */
function holdSocket(socket: Socket): Buffer {
  const buffered: Buffer[] = [];
  while (socket.readableLength > 0) {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) break;
    buffered.push(chunk);
  }
  const handle = (socket as unknown as { _handle?: { readStop?(): number; reading?: boolean } })._handle;
  if (handle && typeof handle.readStop === 'function') {
    handle.reading = false;
    handle.readStop();
  }
  socket.pause();
  return Buffer.concat(buffered);
}
