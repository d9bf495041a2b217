/**
 * `rpc status` as text: a header, a row per worker, and a per-method table when calls were
 * served (latency percentiles read off the histogram buckets, so they are bucket upper bounds;
 * calls/s over the master's last interval, see `call-rates.ts`).
 */
import { LATENCY_BUCKETS_MS, type MethodStats } from '../host/ipc.js';
import { mergeMethodStats, quantileBucket } from '../monitoring/stats.js';
import type { HostStatus } from '../master/supervisor.js';

/** Renders a {@link HostStatus} for a terminal. */
export function formatStatus(status: HostStatus): string {
  const { master, workers } = status;
  const w = master.workers;
  const lines = [
    `thrifthost ${master.version}   master pid ${master.pid}   config ${master.config}`,
    `started ${new Date(master.startedAt).toISOString()}   uptime ${duration(master.uptimeMs)}   ` +
      `load average ${master.loadavg.map((n) => n.toFixed(2)).join(' ')}`,
    `workers ${w.listening}/${w.expected} listening` +
      (w.starting ? `, ${w.starting} starting` : '') +
      (w.draining ? `, ${w.draining} draining` : '') +
      `   generation ${master.generation}   master RSS ${bytes(master.rssBytes)}`,
    ...registryLine(status),
    '',
    table(
      ['PID', 'SERVICE', 'LISTEN', 'STATE', 'UPTIME', 'RSS', 'CONNS', 'REQUESTS', 'ERRORS', 'RESTARTS'],
      workers.map((r) => [
        String(r.pid),
        r.service,
        r.listen,
        r.generation === master.generation ? r.state : `${r.state} (gen ${r.generation})`,
        duration(r.uptimeMs),
        r.rssBytes === null ? '-' : bytes(r.rssBytes),
        num(r.connections),
        num(r.requests),
        num(r.errors),
        String(r.restarts),
      ]),
    ),
  ];
  const methods = mergeMethods(status);
  if (methods.size > 0) {
    lines.push(
      '',
      table(
        ['METHOD', 'CALLS', 'OK%', 'P50 ms', 'P99 ms', 'IN FLIGHT', 'CALLS/S', 'NOT RUN', 'QUEUE P99 ms'],
        [...methods].map(([name, m]) => [
          name,
          String(m.calls),
          m.calls === 0 ? '-' : ((100 * m.successes) / m.calls).toFixed(1),
          percentile(m.buckets, 0.5),
          percentile(m.buckets, 0.99),
          String(m.inFlight),
          rate(status, name),
          String(notRun(m)),
          m.queueBuckets ? percentile(m.queueBuckets, 0.99) : '-',
        ]),
      ),
    );
    if (status.rates) lines.push(`(calls/s over the last ${(status.rates.windowMs / 1000).toFixed(1)} s)`);
    lines.push('(NOT RUN: shed as overloaded, past their deadline, or their caller gone before they started)');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The upper bound (ms) of the histogram bucket holding quantile `q` (see {@link quantileBucket}),
 * `>10000` for the overflow bucket, `-` when empty.
 */
export function percentile(buckets: readonly number[], q: number): string {
  const at = quantileBucket(buckets, q);
  if (!at) return '-';
  const bound = LATENCY_BUCKETS_MS[at.index];
  return bound === undefined ? `>${LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]}` : String(bound);
}

// --- internal ---

function mergeMethods(status: HostStatus): Map<string, MethodStats> {
  const merged = new Map<string, MethodStats>();
  for (const worker of status.workers) {
    for (const [name, m] of Object.entries(worker.methods ?? {})) {
      const into = merged.get(name);
      merged.set(name, into ? mergeMethodStats(into, m) : m);
    }
  }
  return new Map([...merged].filter(([, m]) => m.calls > 0).sort(([a], [b]) => a.localeCompare(b)));
}

/** Calls the worker did not run: shed, expired, or abandoned by their caller while waiting. */
function notRun(m: MethodStats): number {
  return (m.failures.SHED ?? 0) + (m.failures.EXPIRED ?? 0) + (m.failures.ABANDONED ?? 0);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Calls/s of a method over the master's last interval; `-` when the master sent no rates. */
function rate(status: HostStatus, method: string): string {
  const r = status.rates?.callsPerSec[method];
  return r === undefined ? '-' : r.toFixed(r >= 100 ? 0 : 1);
}

function num(n: number | null): string {
  return n === null ? '-' : String(n);
}

function bytes(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

function registryLine({ registry: r }: HostStatus): string[] {
  if (!r) return [];
  const since = duration(Date.now() - r.since);
  return [
    `registry ${r.state} for ${since} at ${r.endpoints.join(', ')}   host id ${r.hostId}   ` +
      `${r.keys.length} key(s) under ${r.prefix}   lease ${r.lease ?? '-'} (ttl ${r.ttlSeconds} s)` +
      (r.outages ? `   outages ${r.outages}` : '') +
      (r.lastError ? `\n  last error: ${r.lastError}` : ''),
  ];
}
