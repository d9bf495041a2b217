/**
 * Ships the client's call reports to a thrifthost statistics listener over UDP, as
 * workerman-thrift's StatisticClient did: fire and forget. Reports of one tick are grouped and
 * sent in as few datagrams as fit (format: `src/common/stats-wire.ts`). It never throws into
 * the call path and never waits: a lost datagram is a lost figure, not a slower call. What
 * failover did travels too: the calls' other attempts by address and outcome, and per method
 * the retries, budget refusals and backup requests (sent, won).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import {
  type AttemptEntry,
  encodeReports,
  type FailoverEntry,
  MAX_REPORT_DATAGRAM_BYTES,
  type ReportEntry,
} from '../src/common/stats-wire.js';
import type { CallReport } from './call-report.js';
import { ClientConfigError } from './errors.js';

/** The fields of a finished call the reporter ships (the failover ones when given). */
export type ReportedCall = Pick<CallReport, 'service' | 'method' | 'ok' | 'errorCode' | 'latencyMs' | 'address'> &
  Partial<Pick<CallReport, 'attempts' | 'tries' | 'budgetExhausted' | 'backupSent' | 'backupWon'>>;

/** Options of {@link createStatsReporter}. */
export interface StatsReporterOptions {
  /**
   * Largest datagram written, in bytes.
   * @default 1400 (one Ethernet frame, never fragmented)
   */
  maxDatagramBytes?: number;
  /**
   * Reports held at most between two flushes; past that, reports are dropped (and counted).
   * @default 50000
   */
  maxPending?: number;
}

/** A running reporter. `observe` plugs into the client's call observer. */
export interface StatsReporter {
  /** Records one finished call. Never throws, never blocks. */
  readonly observe: (call: ReportedCall) => void;
  /** Reports recorded, datagrams sent, and what was dropped (reports over `maxPending`, datagrams that failed). */
  readonly counts: { reports: number; datagrams: number; dropped: number };
  /** Sends what is pending, then closes the socket. Idempotent. */
  close(): Promise<void>;
}

/** Default of {@link StatsReporterOptions.maxPending}. */
export const DEFAULT_MAX_PENDING_REPORTS = 50_000;

/**
 * Creates a reporter sending to `target` (`udp://host:port` or `host:port`, host an IP address
 * or `localhost`).
 * @throws ClientConfigError when `target` is not such an address
 * @example
 * const reporter = createStatsReporter('udp://127.0.0.1:55656');
 * ThriftClient.config(services, { onCallDone: reporter.observe });
 * // or simply: ThriftClient.config(services, { statistics: 'udp://127.0.0.1:55656' });
 */
export function createStatsReporter(target: string, options: StatsReporterOptions = {}): StatsReporter {
  const { host, port } = parseUdpTarget(target);
  const maxBytes = options.maxDatagramBytes ?? MAX_REPORT_DATAGRAM_BYTES;
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_REPORTS;
  const family = isIP(host) === 6 ? 'udp6' : 'udp4';
  const socket = dgram.createSocket(family);
  // A reporter must never keep a process alive nor crash it: no ref, errors only counted.
  socket.unref();
  socket.on('error', () => counts.dropped++);

  const counts = { reports: 0, datagrams: 0, dropped: 0 };
  let groups = new Map<string, ReportEntry>();
  let attempts = new Map<string, AttemptEntry>();
  let failover = new Map<string, FailoverEntry>();
  let pending = 0;
  let scheduled = false;
  let closed: Promise<void> | undefined;
  let inFlight = 0;
  let onIdle: (() => void) | undefined;

  const flush = (): void => {
    scheduled = false;
    const entries = [...groups.values()];
    const extra = { attempts: [...attempts.values()], failover: [...failover.values()] };
    groups = new Map();
    attempts = new Map();
    failover = new Map();
    pending = 0;
    let datagrams: Buffer[];
    try {
      datagrams = encodeReports(entries, maxBytes, extra);
    } catch {
      counts.dropped += entries.length;
      return;
    }
    for (const datagram of datagrams) {
      inFlight++;
      try {
        socket.send(datagram, port, host, (err) => {
          if (err) counts.dropped++;
          else counts.datagrams++;
          if (--inFlight === 0) onIdle?.();
        });
      } catch {
        inFlight--;
        counts.dropped++;
      }
    }
  };

  const observe = (call: ReportedCall): void => {
    try {
      if (closed) return;
      if (pending >= maxPending) {
        counts.dropped++;
        return;
      }
      const code = call.ok ? '' : (call.errorCode ?? 'ERROR');
      const address = call.address ?? '';
      const key = `${call.service}\0${call.method}\0${address}\0${code}`;
      let entry = groups.get(key);
      if (!entry) {
        entry = { service: call.service, method: call.method, address, code, latenciesMs: [] };
        groups.set(key, entry);
      }
      const ms = call.latencyMs;
      entry.latenciesMs.push(ms >= 0 && ms < 3_600_000 ? ms : 0);
      if ((call.attempts ?? 1) > 1 || call.budgetExhausted) addFailover(call);
      pending++;
      counts.reports++;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    } catch {
      counts.dropped++;
    }
  };

  /** The call's attempts other than the one whose outcome it took, and its failover counters. */
  const addFailover = (call: ReportedCall): void => {
    const tries = call.tries ?? [];
    // The attempt the call's outcome came from: the answer, or the last failure.
    let final = -1;
    for (let i = tries.length - 1; i >= 0 && final < 0; i--) {
      const t = tries[i]!;
      if (t.address === call.address && (call.ok ? t.errorCode === undefined : t.errorCode === call.errorCode)) final = i;
    }
    tries.forEach((t, i) => {
      if (i === final) return;
      const code = t.errorCode ?? '';
      const key = `${call.service}\0${call.method}\0${t.address}\0${code}`;
      const a = attempts.get(key);
      if (a) a.count++;
      else attempts.set(key, { service: call.service, method: call.method, address: t.address, code, count: 1 });
    });
    const key = `${call.service}\0${call.method}`;
    let f = failover.get(key);
    if (!f) {
      f = { service: call.service, method: call.method, retries: 0, budgetExhausted: 0, backupsSent: 0, backupsWon: 0 };
      failover.set(key, f);
    }
    f.retries += Math.max(0, (call.attempts ?? 1) - 1 - (call.backupSent ? 1 : 0));
    if (call.budgetExhausted) f.budgetExhausted++;
    if (call.backupSent) f.backupsSent++;
    if (call.backupWon) f.backupsWon++;
  };

  return {
    observe,
    counts,
    close() {
      closed ??= new Promise<void>((resolve) => {
        if (scheduled) flush();
        const finish = () => socket.close(() => resolve());
        if (inFlight === 0) finish();
        else onIdle = finish;
      });
      return closed;
    },
  };
}

// --- internal ---

function parseUdpTarget(target: string): { host: string; port: number } {
  const text = target.replace(/^udp:\/\//, '');
  const match = /^(?:\[([^\]]+)\]|([^:[\]/]+)):(\d{1,5})$/.exec(text);
  const host = match ? (match[1] ?? match[2])! : '';
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535 || (host !== 'localhost' && isIP(host) === 0)) {
    throw new ClientConfigError(
      `statistics address "${target}" is not udp://host:port with an IP address (e.g. "udp://127.0.0.1:55656")`,
    );
  }
  return { host, port };
}
