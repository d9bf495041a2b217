/**
 * The host's receiving end of client call reports (`stats.udp`): a UDP socket that decodes each
 * datagram with the bounded parser of `common/stats-wire.ts` and adds it to {@link ClientStats},
 * the caller-side view shown beside the server-side one. A bad datagram is counted and dropped.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { formatAddress, type HostPort } from '../common/address.js';
import { decodeReports, type ReportEntry } from '../common/stats-wire.js';
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

  /** Adds the entries of one accepted datagram. */
  add(entries: readonly ReportEntry[], now = Date.now()): void {
    this.udp.datagrams++;
    for (const e of entries) {
      const result = e.code === '' ? 'success' : e.code;
      const key = `${e.service}\0${e.method}\0${e.address}\0${result}`;
      let count = this.counts.get(key);
      if (!count) {
        if (this.counts.size >= this.maxSeries) {
          this.udp.dropped += e.latenciesMs.length;
          continue;
        }
        count = { service: e.service, method: e.method, address: e.address, result, count: 0 };
        this.counts.set(key, count);
      }
      count.count += e.latenciesMs.length;
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
    const entries = decodeReports(datagram);
    if (typeof entries === 'string') {
      stats.udp.bad++;
      // One line now and then, not one per datagram: a flood must not flood the log.
      if (Date.now() - warned > 60_000) {
        warned = Date.now();
        log.warn({ reason: entries, bad: stats.udp.bad }, 'ignoring malformed client stats datagram(s)');
      }
      return;
    }
    stats.add(entries);
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
