/**
 * A Thrift server for one listener: accepts connections, serves them with
 * {@link ServerConnection}, counts, drains. It runs the same in a cluster worker
 * (see thrift-worker-main.ts) and in-process (tests, embedding).
 */
import fs from 'node:fs';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { formatAddress, type HostPort } from '../common/address.js';
import type { ServiceConfig } from '../config/config.js';
import { CallScheduler } from './call-scheduler.js';
import { type HandOff, ServerConnection } from './server-connection.js';
import type { WorkerStats } from '../host/ipc.js';
import type { Logger } from '../host/logger.js';
import { HandlerInitError, importServiceTable, loadServiceTable, type ServiceTable } from './service-loader.js';
import { StatsRegistry } from '../monitoring/stats.js';

/**
 * Share of a drain's timeout during which connections closing when idle keep answering a client
 * that keeps sending (each closes once idle for a short grace); after it they close at their
 * first idle instant, and the rest of the timeout is left for the calls in flight then. Half:
 * a call queued in a client behind a call of up to that long, made before the stop, is answered.
 */
const CLOSE_LINGER_SHARE = 0.5;

/** A listener serving one {@link ServiceConfig}. */
export class ThriftServer {
  readonly stats: StatsRegistry;
  readonly table: ServiceTable;
  /** Admission control shared by every connection of this listener. */
  readonly scheduler: CallScheduler;
  readonly startedAt = Date.now();
  private readonly server: net.Server;
  private readonly connections = new Set<ServerConnection>();
  private requestsOfClosed = 0;
  private errorsOfClosed = 0;
  private draining: Promise<void> | undefined;
  private drainHandOff: HandOff | undefined;
  /** Draining: until when connections closing when idle wait for a next call (see ServerConnection). */
  private lingerUntil = 0;

  /**
   * Loads the generated code and `import()`s the handler (ESM, CommonJS, TypeScript, top-level
   * await): what workers use.
   * @throws GeneratedCodeError, HandlerLoadError
   * @example
   * const server = await ThriftServer.create(config.services[0], createLogger());
   * await server.listen();
   */
  static async create(config: ServiceConfig, log: Logger): Promise<ThriftServer> {
    const stats = new StatsRegistry();
    return new ThriftServer(config, log, { stats, table: await importServiceTable(config, stats) });
  }

  /**
   * Loads the generated code and `require()`s the handler (everything but an ES module with
   * top-level await: use {@link ThriftServer.create} for that), or takes a table already loaded.
   * @throws GeneratedCodeError, HandlerLoadError
   */
  constructor(
    readonly config: ServiceConfig,
    private readonly log: Logger,
    loaded?: { stats: StatsRegistry; table: ServiceTable },
  ) {
    this.stats = loaded?.stats ?? new StatsRegistry();
    this.table = loaded?.table ?? loadServiceTable(config, this.stats);
    this.scheduler = new CallScheduler(
      {
        maxQueueMs: config.maxQueueMs,
        maxConcurrentCalls: config.maxConcurrentCalls,
        maxEventLoopDelayMs: config.maxEventLoopDelayMs,
      },
      log,
    );
    this.scheduler.start();
    const onSocket = (socket: Socket) => this.adopt(socket);
    this.server = config.tls
      ? tls.createServer(
          {
            key: fs.readFileSync(config.tls.key),
            cert: fs.readFileSync(config.tls.cert),
            ...(config.tls.ca ? { ca: fs.readFileSync(config.tls.ca) } : {}),
            allowHalfOpen: true,
          },
          onSocket,
        )
      : net.createServer({ allowHalfOpen: true, noDelay: true }, onSocket);
    this.server.on('tlsClientError', (err: Error) =>
      this.log.warn({ err: err.message }, 'TLS handshake failed'),
    );
  }

  /**
   * Runs every handler module's `init(context)`, in order. Call before {@link listen}: no call
   * arrives before the handler is ready.
   * @throws HandlerInitError naming the service, the handler file and the cause
   */
  async init(): Promise<void> {
    for (const hooks of this.table.lifecycle) {
      if (!hooks.init) continue;
      try {
        await hooks.init({ service: hooks.service, config: this.config, log: this.log });
      } catch (err) {
        throw new HandlerInitError(
          `init() of handler ${hooks.handler} (service ${hooks.service}) failed: ${(err as Error)?.message ?? err}`,
          { cause: err },
        );
      }
    }
  }

  /**
   * Runs every handler module's `close()`, newest first, each bounded by what is left of
   * `timeoutMs`; a failure or a timeout is logged, never thrown.
   */
  close(timeoutMs: number): Promise<void> {
    this.closing ??= this.runCloseHooks(timeoutMs);
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async runCloseHooks(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const hooks of [...this.table.lifecycle].reverse()) {
      if (!hooks.close) continue;
      let timer: NodeJS.Timeout | undefined;
      try {
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
        });
        const outcome = await Promise.race([Promise.resolve(hooks.close()), timedOut]);
        if (outcome === 'timeout') {
          this.log.warn({ handler: hooks.handler }, `close() of service ${hooks.service} did not finish in time`);
        }
      } catch (err) {
        this.log.error({ err, handler: hooks.handler }, `close() of service ${hooks.service} failed`);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Listens on the configured address (or `address`); resolves with the bound address. */
  listen(address: HostPort = this.config.listen): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: address.host, port: address.port }, () => {
        this.server.off('error', onError);
        const bound = this.server.address() as net.AddressInfo;
        resolve({ host: bound.address, port: bound.port });
      });
    });
  }

  /**
   * Serves a new connection accepted elsewhere (the master) as if this listener had accepted
   * it: a TLS listener runs the handshake first.
   */
  accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.server.emit('connection', socket);
  }

  /** Serves a socket, optionally with bytes already read from it elsewhere. */
  adopt(socket: Socket, unread?: Buffer): void {
    const connection = new ServerConnection(
      socket,
      this.table,
      this.stats,
      this.scheduler,
      {
        framed: this.config.transport !== 'buffered',
        header: this.config.transport === 'header',
        protocol: this.config.protocol,
        limits: this.config.limits,
        i64: this.config.i64,
        idleTimeoutMs: this.config.idleTimeoutMs,
      },
      this.log,
      (c) => this.forget(c),
      unread,
    );
    this.connections.add(connection);
    // The cluster primary may hand over a connection just as the listener closes: during a
    // reload it moves on like the others; during a stop it is served like the others (its
    // client may have written a call before the stop began) and closed once idle.
    if (this.draining) connection.retireWhenIdle(this.drainHandOff, this.lingerUntil);
  }

  /** Requests answered so far, over all connections. */
  get requests(): number {
    let n = this.requestsOfClosed;
    for (const c of this.connections) n += c.requests;
    return n;
  }

  /** Figures for `rpc status` and the stats endpoint. */
  snapshot(): WorkerStats {
    let errors = this.errorsOfClosed;
    for (const c of this.connections) errors += c.errors;
    return {
      pid: process.pid,
      service: this.config.name,
      listen: formatAddress(this.config.listen),
      startedAt: this.startedAt,
      connections: this.connections.size,
      requests: this.requests,
      errors,
      rssBytes: process.memoryUsage.rss(),
      methods: this.stats.snapshot(),
      recentFailures: this.stats.failureLog.recent(),
    };
  }

  /**
   * Stops accepting, then retires every connection once it is idle: handed to `handOff` (a
   * reload moving it to a new worker) or closed (a stop). A connection that closes keeps
   * answering the calls that arrive until it has been idle for a short grace, or, after
   * {@link CLOSE_LINGER_SHARE} of `timeoutMs`, until its first idle instant. Resolves when none
   * is left or after `timeoutMs`, when the rest are destroyed. Idempotent.
   */
  drain(timeoutMs: number, handOff?: HandOff): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      this.drainHandOff = handOff;
      this.lingerUntil = Date.now() + timeoutMs * CLOSE_LINGER_SHARE;
      this.server.close();
      this.armDrainTimeout = (ms: number) => {
        clearTimeout(this.drainTimer);
        this.drainTimer = setTimeout(() => {
          this.log.warn(
            { connections: this.connections.size },
            'drain timed out; closing remaining connections',
          );
          for (const c of this.connections) c.destroy();
          this.scheduler.close();
          resolve();
        }, ms);
        this.drainTimer.unref();
      };
      this.armDrainTimeout(timeoutMs);
      const check = () => {
        if (this.connections.size > 0) return;
        clearTimeout(this.drainTimer);
        this.scheduler.close();
        resolve();
      };
      this.onEmpty = check;
      for (const c of [...this.connections]) c.retireWhenIdle(handOff, this.lingerUntil);
      check();
    });
    return this.draining;
  }

  /** True once {@link drain} has been called. */
  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  /**
   * Turns a drain that hands connections off into one that closes them (a stop during a
   * reload: no worker would adopt them): each reads and answers again, and closes once idle.
   * The stop gets its whole `timeoutMs` from now, as a stop that is not during a reload does:
   * counted from the reload's drain, a stop late in a reload left its callers no time.
   */
  closeInsteadOfHandOff(timeoutMs: number): void {
    if (!this.draining || !this.drainHandOff) return;
    this.drainHandOff = undefined;
    this.lingerUntil = Date.now() + timeoutMs * CLOSE_LINGER_SHARE;
    this.armDrainTimeout?.(timeoutMs);
    for (const c of [...this.connections]) c.retireWhenIdle(undefined, this.lingerUntil);
  }

  /** Closes the listener and every connection at once. */
  destroy(): void {
    this.scheduler.close();
    this.server.close();
    for (const c of this.connections) c.destroy();
  }

  // --- internal ---

  private onEmpty: (() => void) | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  /** (Re)starts the drain's timeout; set while draining. */
  private armDrainTimeout: ((ms: number) => void) | undefined;

  private forget(c: ServerConnection): void {
    if (!this.connections.delete(c)) return;
    this.requestsOfClosed += c.requests;
    this.errorsOfClosed += c.errors;
    if (this.connections.size === 0) this.onEmpty?.();
  }
}
