/**
 * A Thrift server for one listener: accepts connections, serves them with
 * {@link ServerConnection}, counts, drains. It runs the same in a cluster worker
 * (see thrift-worker-main.ts) and in-process (tests, embedding).
 */
import fs from 'node:fs';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { formatAddress, type HostPort } from './common/address.js';
import type { ServiceConfig } from './config.js';
import { type HandOff, ServerConnection } from './connection.js';
import type { WorkerStats } from './ipc.js';
import type { Logger } from './logger.js';
import { loadServiceTable, type ServiceTable } from './service-loader.js';
import { StatsRegistry } from './stats.js';

/** A listener serving one {@link ServiceConfig}. */
export class ThriftServer {
  readonly stats = new StatsRegistry();
  readonly table: ServiceTable;
  readonly startedAt = Date.now();
  private readonly server: net.Server;
  private readonly connections = new Set<ServerConnection>();
  private requestsOfClosed = 0;
  private errorsOfClosed = 0;
  private draining: Promise<void> | undefined;
  private drainHandOff: HandOff | undefined;

  /**
   * Loads the generated code and the handler. Throws GeneratedCodeError / HandlerLoadError.
   */
  constructor(
    readonly config: ServiceConfig,
    private readonly log: Logger,
  ) {
    this.table = loadServiceTable(config, this.stats);
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

  /** Serves a socket, optionally with bytes already read from it elsewhere. */
  adopt(socket: Socket, unread?: Buffer): void {
    if (this.draining && !this.drainHandOff) {
      socket.destroy();
      return;
    }
    const connection = new ServerConnection(
      socket,
      this.table,
      this.stats,
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
    // reload it moves on like the others instead of being dropped under its client.
    if (this.draining) connection.retireWhenIdle(this.drainHandOff);
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
   * reload moving it to a new worker) or closed. Resolves when none is left or after
   * `timeoutMs`, when the rest are destroyed. Idempotent.
   */
  drain(timeoutMs: number, handOff?: HandOff): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      this.drainHandOff = handOff;
      this.server.close();
      const timer = setTimeout(() => {
        this.log.warn(
          { connections: this.connections.size },
          'drain timed out; closing remaining connections',
        );
        for (const c of this.connections) c.destroy();
        resolve();
      }, timeoutMs);
      timer.unref();
      const check = () => {
        if (this.connections.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      this.onEmpty = check;
      for (const c of [...this.connections]) c.retireWhenIdle(handOff);
      check();
    });
    return this.draining;
  }

  /** Closes the listener and every connection at once. */
  destroy(): void {
    this.server.close();
    for (const c of this.connections) c.destroy();
  }

  // --- internal ---

  private onEmpty: (() => void) | undefined;

  private forget(c: ServerConnection): void {
    if (!this.connections.delete(c)) return;
    this.requestsOfClosed += c.requests;
    this.errorsOfClosed += c.errors;
    if (this.connections.size === 0) this.onEmpty?.();
  }
}
