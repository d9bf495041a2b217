/**
 * The connections to one address, kept by `generic-pool`. A call borrows a connection only to
 * write its request: it goes back to the pool right away while it carries fewer than
 * `maxInFlightPerConnection` calls (pipelining), and otherwise when a reply frees a slot.
 * Connections are validated on borrow, and a connection that saw any transport error is
 * destroyed, never handed out again.
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
    const conn = await this.pool.acquire();
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
    });
  }

  /** Destroys a borrowed connection. */
  discard(conn: Connection): void {
    void this.pool.destroy(conn).catch(() => {});
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

  /** Stops lending and closes every connection once its pending calls settle (or at once with `force`). */
  async close(force = false): Promise<void> {
    if (force) for (const conn of this.live) conn.destroy(new Error('client destroyed'));
    await this.pool.drain();
    await this.pool.clear();
  }
}
