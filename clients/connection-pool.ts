/**
 * The connections to one address, kept by `generic-pool`. A call borrows a connection only to
 * write its request: it goes back to the pool right away while it carries fewer than
 * `maxInFlightPerConnection` calls (pipelining), and otherwise when a reply frees a slot.
 * Connections are validated on borrow, and a connection that saw any transport error is
 * destroyed, never handed out again.
 *
 * Borrowers that find every connection full wait in this pool's own queue, not in
 * generic-pool's: generic-pool cannot cancel a queued borrow, and its drain serves every queued
 * borrow, creating connections to do so. A destroyed pool must instead reject its queued
 * borrows at once and open nothing more.
 */
import { createPool, type Pool } from 'generic-pool';
import { Connection, type ConnectionOptions } from './connection.js';

/** Settings of a {@link ConnectionPool}: those of its connections, plus the pool's own. */
export interface ConnectionPoolOptions extends Omit<ConnectionOptions, 'onClose'> {
  min: number;
  max: number;
  idleTimeoutMs: number;
  /** How long a borrow may wait for a free connection. */
  acquireTimeoutMs: number;
  maxInFlightPerConnection: number;
}

/** Counters for tests and diagnostics. */
export interface PoolStats {
  created: number;
  destroyed: number;
  /** Open or opening connections. */
  size: number;
  available: number;
  borrowed: number;
}

/** Pooled, pipelined connections to one address. */
export class ConnectionPool {
  private readonly pool: Pool<Connection>;
  private readonly live = new Set<Connection>();
  private created = 0;
  private destroyed = 0;
  /** Borrows waiting for a connection with room. */
  private readonly waiting: Waiter[] = [];
  /** Borrows handed to generic-pool and not settled yet. */
  private acquiring = 0;
  /** Set by close(true): every borrow from then on fails with it. */
  private abortedBy: Error | undefined;
  /** Resolves close(false) once the last waiting borrow was served. */
  private onQueueEmpty: (() => void) | undefined;

  constructor(readonly options: ConnectionPoolOptions) {
    this.pool = createPool<Connection>(
      {
        // Never reject here: generic-pool retries a failed create forever while a borrower waits.
        // The connection reports its connect failure through `ready`, after the borrow.
        create: async () => {
          this.created++;
          const conn = new Connection({ ...options, onClose: (c) => this.live.delete(c) });
          this.live.add(conn);
          return conn;
        },
        destroy: async (conn) => {
          this.destroyed++;
          // Stays in `live` until its socket closes: a retired connection may still carry
          // pending calls, which close(true) must reject.
          conn.retire();
        },
        validate: async (conn) => conn.state === 'connecting' || conn.usable,
      },
      {
        min: options.min,
        max: options.max,
        idleTimeoutMillis: options.idleTimeoutMs,
        evictionRunIntervalMillis: Math.min(options.idleTimeoutMs, 10_000),
        acquireTimeoutMillis: options.acquireTimeoutMs,
        testOnBorrow: true,
        // LIFO: reuse the warmest connection, let the others idle out.
        fifo: false,
      },
    );
  }

  /**
   * Borrows a connected connection. Rejects with the connect error (the connection is destroyed)
   * or with generic-pool's TimeoutError when none frees up within `acquireTimeoutMs`.
   */
  async acquire(): Promise<Connection> {
    if (this.abortedBy) throw this.abortedBy;
    if (this.waiting.length > 0 || !this.hasRoom()) await this.waitTurn();
    else this.acquiring++;
    let conn: Connection;
    try {
      conn = await this.pool.acquire();
    } finally {
      this.acquiring--;
      this.pump();
    }
    if (this.abortedBy) {
      this.discard(conn);
      throw this.abortedBy;
    }
    try {
      await conn.ready;
    } catch (err) {
      this.discard(conn);
      throw err;
    }
    return conn;
  }

  /**
   * Gives a borrowed connection back after its request was written: at once while it has room
   * for more pipelined calls, else when a reply frees a slot; a broken one is destroyed.
   */
  release(conn: Connection): void {
    conn.whenBelow(this.options.maxInFlightPerConnection, () => {
      if (conn.usable) void this.pool.release(conn).catch(() => {});
      else this.discard(conn);
      this.pump();
    });
  }

  /** Destroys a borrowed connection. */
  discard(conn: Connection): void {
    void this.pool.destroy(conn).catch(() => {});
    this.pump();
  }

  /** Connections whose socket is not closed yet (open, opening or retiring), for diagnostics. */
  connections(): Connection[] {
    return [...this.live];
  }

  get stats(): PoolStats {
    return {
      created: this.created,
      destroyed: this.destroyed,
      size: this.pool.size,
      available: this.pool.available,
      borrowed: this.pool.borrowed,
    };
  }

  /**
   * Stops lending and closes every connection once its pending calls settle: waiting borrows
   * are served first. With `force`, waiting borrows fail at once with `abortError`, every
   * connection is destroyed and none is opened again.
   */
  async close(force = false, abortError = new Error('connection pool destroyed')): Promise<void> {
    if (force) {
      this.abortedBy ??= abortError;
      for (const waiter of this.waiting.splice(0)) waiter.fail(this.abortedBy);
      for (const conn of this.live) conn.destroy(new Error('client destroyed'));
    } else if (this.waiting.length > 0) {
      await new Promise<void>((resolve) => {
        this.onQueueEmpty = resolve;
      });
    }
    await this.pool.drain();
    await this.pool.clear();
  }

  // --- internal ---

  /** True while a borrow handed to generic-pool now gets a connection without queueing there. */
  private hasRoom(): boolean {
    return this.pool.borrowed + this.acquiring < this.options.max;
  }

  /** Waits until {@link pump} gives this borrow its turn (counted in `acquiring`). */
  private waitTurn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        go: () => {
          clearTimeout(timer);
          resolve();
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        // Named like generic-pool's own, which the service client maps to ERR_POOL_TIMEOUT.
        const err = new Error(`no connection freed up within ${this.options.acquireTimeoutMs} ms`);
        err.name = 'TimeoutError';
        waiter.fail(err);
        this.pump();
      }, this.options.acquireTimeoutMs);
      this.waiting.push(waiter);
    });
  }

  /** Hands free room to waiting borrows, oldest first. */
  private pump(): void {
    while (this.waiting.length > 0 && this.hasRoom()) {
      this.acquiring++;
      this.waiting.shift()?.go();
    }
    if (this.waiting.length === 0 && this.onQueueEmpty) {
      this.onQueueEmpty();
      this.onQueueEmpty = undefined;
    }
  }
}

interface Waiter {
  go(): void;
  fail(err: Error): void;
}
