/**
 * The host's receiving end of client call reports (`stats.udp`): a UDP socket that decodes each
 * datagram with the bounded parser of `common/stats-wire.ts` and adds it to {@link ClientStats},
 * the caller-side view shown beside the server-side one: calls, every attempt by address and
 * outcome, and what failover did (retries, retry-budget refusals, backup requests sent and won).
 * A bad datagram is counted and dropped.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { formatAddress, type HostPort } from '../common/address.js';
import { decodeReportBatch, type ReportBatch } from '../common/stats-wire.js';
import { LATENCY_BUCKETS_MS, type MethodStats } from '../host/ipc.js';
import type { Logger } from '../host/logger.js';
import { latencyBucket } from './stats.js';
import type { FailureLine } from './stats-aggregate.js';

/** Calls reported by clients for one service, method, address and result. */
export interface ClientCallCount {
  service: string;
  method: string;
  address: string;
  /** `success`, or the failure code. */
  result: string;
  count: number;
}

/** What failover did for the reported calls of one `Service.method`. */
export interface ClientFailoverFigures {
  /** Attempts made after a failed one. */
  retries: number;
  /** Calls whose retry or backup request the client's retry budget refused. */
  budgetExhausted: number;
  backupsSent: number;
  /** Backup requests whose answer was the call's. */
  backupsWon: number;
}

/** Datagram counters of the UDP receiver. */
export interface UdpCounts {
  /** Datagrams accepted. */
  datagrams: number;
  /** Datagrams rejected (malformed, over the limits). */
  bad: number;
  /** Reports accepted. */
  reports: number;
  /** Reports dropped because the number of label combinations reached its limit. */
  dropped: number;
}

/**
 * Caller-side totals built from client reports: counts per service/method/address/result and a
 * latency histogram per `Service.method`, in the same form as the workers' figures.
 */
export class ClientStats {
  readonly udp: UdpCounts = { datagrams: 0, bad: 0, reports: 0, dropped: 0 };
  private readonly counts = new Map<string, ClientCallCount>();
  /** Every attempt, by address and outcome: the calls' own (from `counts`) plus their other attempts. */
  private readonly attempts = new Map<string, ClientCallCount>();
  private readonly failover = new Map<string, ClientFailoverFigures>();
  private readonly methods = new Map<string, MethodStats>();
  private readonly failures: FailureLine[] = [];

  /**
   * @param maxSeries label combinations kept; reports for new ones beyond it are dropped, so a
   *   misbehaving sender cannot grow the master's memory or the /metrics page without bound
   */
  constructor(
    private readonly maxSeries = 10_000,
    private readonly maxFailures = 50,
  ) {}

  /** Adds what one accepted datagram carries. */
  add(batch: ReportBatch, now = Date.now()): void {
    this.udp.datagrams++;
    for (const a of batch.attempts) this.countIn(this.attempts, a.service, a.method, a.address, a.code, a.count);
    for (const f of batch.failover) {
      const key = `${f.service}.${f.method}`;
      let figures = this.failover.get(key);
      if (!figures) {
        if (this.failover.size >= this.maxSeries) continue;
        figures = { retries: 0, budgetExhausted: 0, backupsSent: 0, backupsWon: 0 };
        this.failover.set(key, figures);
      }
      figures.retries += f.retries;
      figures.budgetExhausted += f.budgetExhausted;
      figures.backupsSent += f.backupsSent;
      figures.backupsWon += f.backupsWon;
    }
    for (const e of batch.entries) {
      const n = e.latenciesMs.length;
      if (!this.countIn(this.counts, e.service, e.method, e.address, e.code, n)) {
        this.udp.dropped += n;
        continue;
      }
      if (e.address !== '') this.countIn(this.attempts, e.service, e.method, e.address, e.code, n);
      this.udp.reports += e.latenciesMs.length;
      const m = this.method(`${e.service}.${e.method}`);
      for (const ms of e.latenciesMs) {
        m.calls++;
        m.totalMs += ms;
        m.buckets[latencyBucket(ms)]!++;
      }
      if (e.code === '') m.successes += e.latenciesMs.length;
      else {
        m.failures[e.code] = (m.failures[e.code] ?? 0) + e.latenciesMs.length;
        this.failures.push({
          at: now,
          side: 'client',
          where: e.address || '(no address)',
          method: `${e.service}.${e.method}`,
          kind: e.code,
          message: e.latenciesMs.length > 1 ? `${e.latenciesMs.length} calls` : '',
        });
        if (this.failures.length > this.maxFailures) this.failures.shift();
      }
    }
  }

  /** Counts per service/method/address/result. */
  callCounts(): ClientCallCount[] {
    return [...this.counts.values()];
  }

  /** Attempts per service/method/address/result: where each attempt of the reported calls went. */
  attemptCounts(): ClientCallCount[] {
    return [...this.attempts.values()];
  }

  /** Retries, budget refusals and backup requests per `Service.method` (copies). */
  failoverByMethod(): Record<string, ClientFailoverFigures> {
    const out: Record<string, ClientFailoverFigures> = {};
    for (const [key, f] of this.failover) out[key] = { ...f };
    return out;
  }

  /** Figures per `Service.method`, all addresses together (copies: the originals keep counting). */
  byMethod(): Record<string, MethodStats> {
    const out: Record<string, MethodStats> = {};
    for (const [key, m] of this.methods)
      out[key] = { ...m, failures: { ...m.failures }, buckets: [...m.buckets] };
    return out;
  }

  /** The latest failed calls reported, newest last. */
  recentFailures(): FailureLine[] {
    return [...this.failures];
  }

  // --- internal ---

  /** Adds `n` to one series of `map`; false when the series is new and the limit is reached. */
  private countIn(
    map: Map<string, ClientCallCount>,
    service: string,
    method: string,
    address: string,
    code: string,
    n: number,
  ): boolean {
    const result = code === '' ? 'success' : code;
    const key = `${service}\0${method}\0${address}\0${result}`;
    let count = map.get(key);
    if (!count) {
      if (map.size >= this.maxSeries) return false;
      count = { service, method, address, result, count: 0 };
      map.set(key, count);
    }
    count.count += n;
    return true;
  }

  private method(key: string): MethodStats {
    let m = this.methods.get(key);
    if (!m) {
      m = {
        calls: 0,
        successes: 0,
        failures: {},
        totalMs: 0,
        buckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
        inFlight: 0,
      };
      this.methods.set(key, m);
    }
    return m;
  }
}

/** A bound UDP receiver. */
export interface StatsUdpReceiver {
  /** The bound address (the real port when configured with port 0). */
  readonly address: HostPort;
  /** Closes the socket. Idempotent. */
  close(): Promise<void>;
}

/**
 * Binds a UDP socket at `address` and feeds every valid datagram into `stats`.
 * @throws the bind error (address in use, no permission)
 */
export function startStatsUdp(address: HostPort, stats: ClientStats, log: Logger): Promise<StatsUdpReceiver> {
  const socket = dgram.createSocket(isIP(address.host) === 6 ? 'udp6' : 'udp4');
  let warned = 0;
  socket.on('message', (datagram) => {
    const batch = decodeReportBatch(datagram);
    if (typeof batch === 'string') {
      stats.udp.bad++;
      // One line now and then, not one per datagram: a flood must not flood the log.
      if (Date.now() - warned > 60_000) {
        warned = Date.now();
        log.warn({ reason: batch, bad: stats.udp.bad }, 'ignoring malformed client stats datagram(s)');
      }
      return;
    }
    stats.add(batch);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(address.port, address.host, () => {
      socket.off('error', reject);
      socket.on('error', (err) => log.warn({ err: err.message }, 'stats UDP socket error'));
      const bound = socket.address();
      let closed: Promise<void> | undefined;
      log.info(
        { udp: formatAddress({ host: bound.address, port: bound.port }) },
        'client stats receiver listening',
      );
      resolve({
        address: { host: bound.address, port: bound.port },
        close() {
          closed ??= new Promise((done) => socket.close(() => done()));
          return closed;
        },
      });
    });
  });
}
