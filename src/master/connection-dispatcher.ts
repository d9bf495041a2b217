/**
 * The master's listener of one service: it accepts every connection itself and hands each to a
 * listening worker over IPC, round-robin, and closes its own copy only once that worker has
 * acknowledged it. A worker that dies before acknowledging does not take its connections with
 * it: they go to another worker (or wait for the respawn when there is none).
 *
 * This replaces node:cluster's round-robin primary, which does the same hand-off without the
 * last part: a connection sent to a worker that dies before accepting it is neither served nor
 * closed, and its client waits forever (nodejs/node#21746). See docs/architecture.md ("Who
 * accepts connections") for the comparison with per-worker `reusePort` listeners.
 */
import net, { type Socket } from 'node:net';
import type { HostPort } from '../common/address.js';
import type { Logger } from '../host/logger.js';

/** A worker as the dispatcher sees it. */
export interface DispatchTarget {
  readonly pid: number;
  /**
   * Sends `socket` to the worker as connection `id`, keeping the master's copy open; resolves
   * false when it could not be sent.
   */
  offer(id: number, socket: Socket): Promise<boolean>;
}

/**
 * Connections held while no worker listens (every worker crashed, respawn pending); more are
 * closed at once, so a crash loop cannot make the master hoard descriptors.
 */
export const MAX_HELD_CONNECTIONS = 1024;
/**
 * How long a held connection waits for a worker before it is closed: a respawn after a single
 * crash comes well within it; one deep in back-off (up to 10 s) does not, and the client is
 * better told (a closed connection) than left waiting.
 */
export const HOLD_LIMIT_MS = 2_000;
/**
 * Connections sent to one worker and not yet acknowledged, at most. Node's IPC channel sends one
 * handle at a time and queues every later message (status and reload requests too) until the
 * worker acknowledges it; a busy worker acknowledges once per event-loop turn. Connections beyond
 * this wait in the master's own backlog, where their age is known.
 */
export const MAX_OFFERS_PER_WORKER = 2;

/** Hands the connections of one listener to workers, with acknowledgement. */
export class ConnectionDispatcher {
  private readonly server: net.Server;
  private readonly unacked = new Map<number, { socket: Socket; target: DispatchTarget }>();
  /** Connections waiting for a worker, each with the timer that closes it at the hold limit. */
  private readonly held = new Map<Socket, NodeJS.Timeout>();
  /**
   * Per worker, the connections given to it in turn while it had MAX_OFFERS_PER_WORKER
   * unacknowledged, oldest first. Handed over newest first: under a backlog the newest callers
   * are the ones still waiting; one that waited HOLD_LIMIT_MS is reset (its caller has given
   * up, or is better told than left waiting).
   */
  private readonly backlogs = new Map<DispatchTarget, { socket: Socket; at: number }[]>();
  /** Unacknowledged offers per worker. */
  private readonly offers = new Map<DispatchTarget, number>();
  private nextId = 1;
  private turn = 0;
  private closed = false;
  /** The bound address, once {@link listen} succeeded. */
  private address: HostPort | undefined;

  /**
   * @param targets the workers that take new connections now (listening, not draining)
   */
  constructor(
    private readonly targets: () => DispatchTarget[],
    private readonly log: Logger,
  ) {
    // pauseOnConnect: the master never reads a byte; the worker gets every byte the client sent.
    this.server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) =>
      this.dispatch(socket),
    );
    this.server.on('error', (err) => this.log.error({ err }, 'service listener error'));
  }

  /** Binds `address`; resolves with the bound address (the real port for port 0). */
  listen(address: HostPort): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: address.host, port: address.port }, () => {
        this.server.off('error', onError);
        const bound = this.server.address() as net.AddressInfo;
        this.address = { host: address.host, port: bound.port };
        resolve(this.address);
      });
    });
  }

  /**
   * No worker takes connections (they all died): stop listening, so that new clients are
   * refused and a failover client goes to another address at once, as with node:cluster.
   * Connections already accepted wait for the respawn (up to {@link HOLD_LIMIT_MS}).
   */
  suspendIfIdle(): void {
    if (this.closed || !this.server.listening || this.targets().length > 0) return;
    this.log.warn('no worker is serving: refusing new connections until one is back');
    this.server.close();
  }

  /** Connections sent and not yet acknowledged, plus those waiting for a worker. */
  get pending(): number {
    let backlogged = 0;
    for (const b of this.backlogs.values()) backlogged += b.length;
    return this.unacked.size + this.held.size + backlogged;
  }

  /** The worker took connection `id`: the master's copy closes (the connection stays open). */
  accepted(target: DispatchTarget, id: number): void {
    const entry = this.unacked.get(id);
    if (!entry || entry.target !== target) return;
    this.unacked.delete(id);
    entry.socket.destroy();
    this.release(target);
    this.pump(target);
  }

  /** `target` exited: what it had not acknowledged goes to another worker. */
  targetGone(target: DispatchTarget): void {
    this.offers.delete(target);
    const backlog = this.backlogs.get(target) ?? [];
    this.backlogs.delete(target);
    for (const { socket } of backlog) this.dispatch(socket, target);
    for (const [id, entry] of this.unacked) {
      if (entry.target !== target) continue;
      this.unacked.delete(id);
      this.log.warn(
        { workerPid: target.pid },
        `worker ${target.pid} exited before taking a connection; handing it to another worker`,
      );
      this.dispatch(entry.socket, target);
    }
  }

  /**
   * A worker started listening: connections held for lack of one go out now, and a suspended
   * listener listens again.
   */
  flush(): void {
    for (const socket of this.takeHeld()) this.dispatch(socket);
    if (!this.closed && this.address && !this.server.listening) {
      // Failures (the port taken meanwhile) reach the 'error' listener: logged, retried at the
      // next worker start.
      this.server.listen({ host: this.address.host, port: this.address.port });
    }
  }

  /**
   * Stops accepting (the port is free when this returns); held connections are closed. Sent ones
   * stay with their worker: {@link destroyPending} closes the unacknowledged rest.
   */
  close(): void {
    this.closed = true;
    for (const socket of this.takeHeld()) socket.destroy();
    // A stop: connections accepted before it go to their workers, which answer the calls their
    // clients wrote and close them once idle.
    for (const [target, backlog] of this.backlogs) for (const { socket } of backlog) this.send(target, socket);
    this.backlogs.clear();
    if (this.server.listening) this.server.close();
  }

  /** `target` stopped taking connections (it drains for a reload): its backlog goes to the others. */
  withdraw(target: DispatchTarget): void {
    const backlog = this.backlogs.get(target);
    if (!backlog) return;
    this.backlogs.delete(target);
    for (const { socket } of backlog) this.dispatch(socket, target);
  }

  /** Closes whatever is still unacknowledged: call once every worker is gone. */
  destroyPending(): void {
    for (const { socket } of this.unacked.values()) socket.destroy();
    this.unacked.clear();
  }

  // --- internal ---

  private takeHeld(): Socket[] {
    const sockets = [...this.held.keys()];
    for (const timer of this.held.values()) clearTimeout(timer);
    this.held.clear();
    return sockets;
  }

  private dispatch(socket: Socket, exclude?: DispatchTarget): void {
    if (socket.listenerCount('error') === 0) socket.on('error', () => {});
    if (socket.destroyed) return;
    const targets = this.targets().filter((t) => t !== exclude);
    if (targets.length === 0) {
      if (this.closed || this.held.size >= MAX_HELD_CONNECTIONS) {
        socket.destroy();
        return;
      }
      const timer = setTimeout(() => {
        this.held.delete(socket);
        socket.destroy();
      }, HOLD_LIMIT_MS);
      timer.unref();
      this.held.set(socket, timer);
      return;
    }
    const target = targets[this.turn++ % targets.length]!;
    if ((this.offers.get(target) ?? 0) >= MAX_OFFERS_PER_WORKER) {
      let backlog = this.backlogs.get(target);
      if (!backlog) this.backlogs.set(target, (backlog = []));
      // Bounded like the connections held for lack of a worker: the oldest caller goes first.
      if (backlog.length >= MAX_HELD_CONNECTIONS) backlog.shift()!.socket.resetAndDestroy();
      backlog.push({ socket, at: performance.now() });
      return;
    }
    this.send(target, socket);
  }

  private send(target: DispatchTarget, socket: Socket): void {
    const id = this.nextId++;
    this.unacked.set(id, { socket, target });
    this.offers.set(target, (this.offers.get(target) ?? 0) + 1);
    void target.offer(id, socket).then((sent) => {
      // Not sent (its channel is closing): another worker, or held for the next one.
      if (!sent && this.unacked.get(id)?.target === target) {
        this.unacked.delete(id);
        this.release(target);
        this.dispatch(socket, target);
      }
    });
  }

  private release(target: DispatchTarget): void {
    const n = (this.offers.get(target) ?? 0) - 1;
    if (n > 0) this.offers.set(target, n);
    else this.offers.delete(target);
  }

  /** `target` has room again: resets its stale backlogged connections, sends its newest. */
  private pump(target: DispatchTarget): void {
    const backlog = this.backlogs.get(target);
    if (!backlog) return;
    if (!this.targets().includes(target)) {
      // It stopped taking connections (draining for a reload): its backlog goes to the others.
      this.backlogs.delete(target);
      for (const { socket } of backlog) this.dispatch(socket, target);
      return;
    }
    const now = performance.now();
    let stale = 0;
    while (stale < backlog.length && now - backlog[stale]!.at > HOLD_LIMIT_MS) stale++;
    for (const { socket } of backlog.splice(0, stale)) socket.resetAndDestroy();
    while (backlog.length > 0 && (this.offers.get(target) ?? 0) < MAX_OFFERS_PER_WORKER) {
      const { socket } = backlog.pop()!;
      if (!socket.destroyed) this.send(target, socket);
    }
    if (backlog.length === 0) this.backlogs.delete(target);
  }
}
