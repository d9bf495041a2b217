/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4), written from the
 * master's aggregated figures.
 *
 * prom-client's cluster aggregator would ask every worker for its registry over IPC at each
 * scrape and merge the serialized metrics. Our workers already keep their figures in plain
 * preallocated counters and send them to the master on request (the same message `rpc status`
 * uses), and the master already sums them and keeps them across restarts (`stats-aggregate.ts`).
 * Writing the text from those sums is a few hundred lines cheaper, adds nothing to the call
 * path, and keeps one source of truth for `rpc status`, `/api/stats` and `/metrics`.
 */
import type { CustomTotals } from './custom-metrics-totals.js';
import { LATENCY_BUCKETS_MS, type MethodStats } from '../host/ipc.js';
import {
  type MasterSnapshot,
  type ServiceFigures,
  splitKey,
  type WorkerSnapshot,
} from './stats-aggregate.js';
import type { ClientCallCount, ClientFailoverFigures, UdpCounts } from './stats-udp.js';

/** The content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What `/metrics` is written from. */
export interface MetricsInput {
  /** Server-side totals per `Service.method`. */
  server: Record<string, MethodStats>;
  services: ServiceFigures[];
  workers: WorkerSnapshot[];
  master: MasterSnapshot;
  /** The handlers' own metrics, summed per service. */
  custom?: CustomTotals;
  client?: {
    counts: ClientCallCount[];
    /** Every attempt by address and outcome (absent: none reported). */
    attempts?: ClientCallCount[];
    /** Per `Service.method`: retries, budget refusals, backup requests. */
    failover?: Record<string, ClientFailoverFigures>;
    byMethod: Record<string, MethodStats>;
    udp: UdpCounts;
  };
}

/** Writes every metric. */
export function renderMetrics(input: MetricsInput): string {
  const out: string[] = [];
  const server = Object.entries(input.server).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  family(
    out,
    'thrift_server_requests_total',
    'counter',
    'Thrift calls received by the workers, by result: success, a declared exception name, INTERNAL_ERROR, APPLICATION_EXCEPTION, UNKNOWN_METHOD, PROTOCOL_ERROR, or not run: SHED (overloaded), EXPIRED (deadline passed before it started), ABANDONED (the caller disconnected first); CALLER_GONE: run, but the caller disconnected before the reply.',
  );
  for (const [key, m] of server) {
    const { service, method } = splitKey(key);
    sample(out, 'thrift_server_requests_total', { service, method, result: 'success' }, m.successes);
    for (const [kind, n] of Object.entries(m.failures).sort()) {
      sample(out, 'thrift_server_requests_total', { service, method, result: kind }, n);
    }
  }

  family(
    out,
    'thrift_server_request_duration_seconds',
    'histogram',
    'Time from a decoded call to its encoded reply, in the workers.',
  );
  for (const [key, m] of server) histogram(out, 'thrift_server_request_duration_seconds', splitKey(key), m);
  family(
    out,
    'thrift_server_queue_wait_seconds',
    'histogram',
    'Time calls waited in the worker for admission before their handler started (calls not run are counted in thrift_server_requests_total as SHED, EXPIRED or ABANDONED).',
  );
  for (const [key, m] of server) {
    if (m.queueBuckets) histogramLines(out, 'thrift_server_queue_wait_seconds', splitKey(key), LE, m.queueBuckets, (m.queueTotalMs ?? 0) / 1000);
  }

  family(out, 'thrift_server_requests_in_flight', 'gauge', 'Calls being handled right now.');
  for (const [key, m] of server) sample(out, 'thrift_server_requests_in_flight', splitKey(key), m.inFlight);

  family(
    out,
    'thrift_server_open_connections',
    'gauge',
    'Client connections open in the workers of a service entry.',
  );
  for (const s of input.services)
    sample(out, 'thrift_server_open_connections', { service: s.service }, s.connections);

  family(out, 'thrift_server_workers', 'gauge', 'Worker processes of a service entry, by state.');
  for (const s of input.services) {
    for (const [state, n] of Object.entries(s.workers).sort()) {
      sample(out, 'thrift_server_workers', { service: s.service, state }, n);
    }
  }

  family(
    out,
    'thrift_server_worker_restarts_total',
    'counter',
    'Workers of a service entry respawned after exiting unexpectedly.',
  );
  for (const s of input.services)
    sample(out, 'thrift_server_worker_restarts_total', { service: s.service }, s.restarts);

  family(
    out,
    'thrift_server_worker_resident_memory_bytes',
    'gauge',
    'Resident memory of each worker process.',
  );
  for (const w of input.workers) {
    if (w.rssBytes === null) continue;
    sample(
      out,
      'thrift_server_worker_resident_memory_bytes',
      { service: w.service, pid: String(w.pid) },
      w.rssBytes,
    );
  }

  renderProcessFigures(out, input.workers);

  family(out, 'process_resident_memory_bytes', 'gauge', 'Resident memory of the master process.');
  sample(out, 'process_resident_memory_bytes', {}, input.master.rssBytes);
  family(out, 'process_start_time_seconds', 'gauge', 'Start time of the master process since the epoch.');
  sample(out, 'process_start_time_seconds', {}, Math.floor(input.master.startedAt / 1000));

  const client = input.client;
  if (client) {
    family(
      out,
      'thrift_client_requests_total',
      'counter',
      'Calls reported by thrifthost clients over UDP, by the address called and result: success or the client error code.',
    );
    const counts = [...client.counts].sort((a, b) => compareLabels(a, b));
    for (const c of counts) {
      const { service, method, address, result } = c;
      sample(out, 'thrift_client_requests_total', { service, method, address, result }, c.count);
    }
    family(
      out,
      'thrift_client_attempts_total',
      'counter',
      'Attempts of reported client calls, by the address each went to and its result: success, the client error code, or CANCELLED (the loser of a backup request).',
    );
    for (const c of [...(client.attempts ?? [])].sort((a, b) => compareLabels(a, b))) {
      const { service, method, address, result } = c;
      sample(out, 'thrift_client_attempts_total', { service, method, address, result }, c.count);
    }
    const failover = Object.entries(client.failover ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    const failoverFamilies: [string, keyof ClientFailoverFigures, string][] = [
      ['thrift_client_retries_total', 'retries', 'Attempts clients made after a failed one.'],
      [
        'thrift_client_retry_budget_exhausted_total',
        'budgetExhausted',
        "Calls whose retry or backup request the client's retry budget refused.",
      ],
      ['thrift_client_backup_requests_total', 'backupsSent', 'Backup requests clients sent.'],
      ['thrift_client_backup_requests_won_total', 'backupsWon', "Backup requests whose answer was the call's."],
    ];
    for (const [name, field, help] of failoverFamilies) {
      family(out, name, 'counter', help);
      for (const [key, f] of failover) sample(out, name, splitKey(key), f[field]);
    }
    family(
      out,
      'thrift_client_request_duration_seconds',
      'histogram',
      'Latency of reported client calls, retries included.',
    );
    for (const [key, m] of Object.entries(client.byMethod).sort(([a], [b]) => (a < b ? -1 : 1))) {
      histogram(out, 'thrift_client_request_duration_seconds', splitKey(key), m);
    }
    family(
      out,
      'thrift_stats_udp_datagrams_total',
      'counter',
      'Client report datagrams received, by outcome.',
    );
    sample(out, 'thrift_stats_udp_datagrams_total', { result: 'accepted' }, client.udp.datagrams);
    sample(out, 'thrift_stats_udp_datagrams_total', { result: 'rejected' }, client.udp.bad);
    family(
      out,
      'thrift_stats_udp_reports_dropped_total',
      'counter',
      'Client reports dropped because the number of label combinations reached its limit.',
    );
    sample(out, 'thrift_stats_udp_reports_dropped_total', {}, client.udp.dropped);
  }
  if (input.custom) renderCustom(out, input.custom);
  out.push('');
  return out.join('\n');
}

// --- internal ---

/** Per-worker process figures, from the workers that answered. */
function renderProcessFigures(out: string[], workers: readonly WorkerSnapshot[]): void {
  const answered = workers.filter((w) => w.process !== undefined);
  const each = (
    name: string,
    type: string,
    help: string,
    value: (p: NonNullable<WorkerSnapshot['process']>) => number,
  ) => {
    family(out, name, type, help);
    for (const w of answered) sample(out, name, { service: w.service, pid: String(w.pid) }, value(w.process!));
  };
  each(
    'thrift_server_worker_event_loop_delay_p99_seconds',
    'gauge',
    'p99 of the event-loop delay of each worker over the last 10 s window.',
    (p) => p.eventLoopDelayP99Ms / 1000,
  );
  each('thrift_server_worker_heap_used_bytes', 'gauge', 'V8 heap used by each worker.', (p) => p.heapUsedBytes);
  each(
    'thrift_server_worker_gc_pause_seconds_total',
    'counter',
    'Time each worker spent paused in garbage collection since it started.',
    (p) => p.gcPauseMs / 1000,
  );
}

/** The handlers' own metrics, each series labelled with its service entry. */
function renderCustom(out: string[], custom: CustomTotals): void {
  const names = [...custom.families.keys()].sort();
  for (const name of names) {
    const f = custom.families.get(name)!;
    family(out, name, f.type, f.help);
    const les = [...(f.buckets ?? []).map(String), '+Inf'];
    const series = [...f.series.values()].sort((a, b) => compareKeys([a.service, ...a.labels], [b.service, ...b.labels]));
    for (const s of series) {
      const labels: Record<string, string> = { service: s.service };
      f.labelNames.forEach((l, i) => {
        labels[l] = s.labels[i] ?? '';
      });
      if (f.type === 'counter') {
        sample(out, name, labels, s.value);
        continue;
      }
      histogramLines(out, name, labels, les, s.counts, s.sum);
    }
  }
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** `le` label values: the bucket bounds in seconds, then `+Inf`. */
const LE = [...LATENCY_BUCKETS_MS.map((ms) => String(Number((ms / 1000).toPrecision(12)))), '+Inf'];

function family(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
}

function sample(out: string[], name: string, labels: Record<string, string>, value: number): void {
  out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
}

function histogram(out: string[], name: string, labels: Record<string, string>, m: MethodStats): void {
  histogramLines(out, name, labels, LE, m.buckets, m.totalMs / 1000);
}

/**
 * The `_bucket`, `_sum` and `_count` lines of one series; `counts` per bucket, not cumulative.
 * The label text is built once per series, not once per bucket: this is most of the output.
 */
function histogramLines(
  out: string[],
  name: string,
  labels: Record<string, string>,
  les: readonly string[],
  counts: readonly number[],
  sum: number,
): void {
  const inner = labelPairs(labels);
  const open = inner === '' ? '{' : `{${inner},`;
  let cumulative = 0;
  for (let i = 0; i < les.length; i++) {
    cumulative += counts[i] ?? 0;
    out.push(`${name}_bucket${open}le="${les[i]}"} ${cumulative}`);
  }
  const tail = inner === '' ? '' : `{${inner}}`;
  out.push(`${name}_sum${tail} ${formatValue(sum)}`, `${name}_count${tail} ${cumulative}`);
}

function formatLabels(labels: Record<string, string>): string {
  const inner = labelPairs(labels);
  return inner === '' ? '' : `{${inner}}`;
}

function labelPairs(labels: Record<string, string>): string {
  let text = '';
  for (const k in labels) {
    const v = labels[k]!;
    text += `${text === '' ? '' : ','}${k}="${NEEDS_ESCAPE.test(v) ? escapeLabel(v) : v}"`;
  }
  return text;
}

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function compareLabels(a: ClientCallCount, b: ClientCallCount): number {
  const ka = `${a.service}\0${a.method}\0${a.address}\0${a.result}`;
  const kb = `${b.service}\0${b.method}\0${b.address}\0${b.result}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
