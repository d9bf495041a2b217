/**
 * Messages between the master (supervisor) and its workers over the node:cluster IPC channel.
 * One discriminated union per direction; `t` is the tag. Sockets travel as the send handle of
 * `connection` (a new connection the master accepted) and of `handoff` / `adopt` (a reload moving
 * an idle connection to a new worker without closing it).
 */
import type { HostPort } from '../common/address.js';
import type { ServiceConfig } from '../config/config.js';
import type { CustomMetricSnapshot } from '../monitoring/custom-metrics.js';
import type { ProcessFigures } from '../monitoring/process-figures.js';

/** Figures of one method in one worker (or aggregated). Histogram buckets: {@link LATENCY_BUCKETS_MS}. */
export interface MethodStats {
  calls: number;
  successes: number;
  /** Failures by kind: declared exception name, `INTERNAL_ERROR`, `UNKNOWN_METHOD`, `PROTOCOL_ERROR`. */
  failures: Record<string, number>;
  /** Sum of latencies in milliseconds. */
  totalMs: number;
  /** Counts per bucket of {@link LATENCY_BUCKETS_MS}, plus one overflow bucket at the end. */
  buckets: number[];
  inFlight: number;
  /**
   * Time calls waited in the worker's admission queue before their handler started, per
   * {@link LATENCY_BUCKETS_MS} bucket (plus overflow); absent before the first call ran.
   */
  queueBuckets?: number[];
  /** Sum of those waits in milliseconds. */
  queueTotalMs?: number;
}

/** Upper bounds (ms) of the latency histogram buckets: 50 µs to 10 s. */
export const LATENCY_BUCKETS_MS = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
] as const;

/** What a worker reports about itself. */
export interface WorkerStats {
  pid: number;
  service: string;
  listen: string;
  startedAt: number;
  connections: number;
  requests: number;
  errors: number;
  rssBytes: number;
  /** Keyed by `Service.method`. */
  methods: Record<string, MethodStats>;
  /** The last few failed calls, oldest first (for the dashboard's failure log). */
  recentFailures?: FailureRecord[];
  /** Event-loop delay, heap, GC and RSS of the worker process (absent for in-process listeners). */
  process?: ProcessFigures;
  /** The handlers' own metrics (`custom-metrics.ts`). */
  custom?: CustomMetricSnapshot[];
}

/** One failed call, kept in a worker's small ring of recent failures. */
export interface FailureRecord {
  /** Epoch milliseconds. */
  at: number;
  /** Counts up by one per failure within a worker: the master takes only records it has not seen. */
  seq: number;
  /** `Service.method`. */
  method: string;
  /** As in {@link MethodStats.failures}: declared exception name, `INTERNAL_ERROR`, ... */
  kind: string;
  /** The error's message, cut short ('' when there is none). */
  message: string;
}

/** What the master tells a worker at fork time (JSON in env `THRIFTHOST_WORKER`). */
export interface WorkerBootstrap {
  /** `listen` holds the address the master bound (the real port when the config says 0). */
  service: ServiceConfig;
  /**
   * The master accepts the connections and sends them (`connection` messages): the worker does
   * not listen itself. False only for a worker run without the master's listener.
   */
  masterAccepts?: boolean;
  logLevel: string;
  gracefulTimeoutMs: number;
  generation: number;
}

/** Worker -> master. */
export type WorkerMessage =
  | { t: 'listening'; address: HostPort }
  | { t: 'fatal'; code: string; message: string }
  | { t: 'stats'; id: number; stats: WorkerStats }
  | { t: 'handoff'; pending: string }
  | { t: 'recycle'; reason: string }
  /** The worker holds connection `id` (sent with `connection`): the master may close its copy. */
  | { t: 'accepted'; id: number };

/** Master -> worker. */
export type MasterMessage =
  /**
   * Stop accepting and exit once the connections are done. `close`: no worker will adopt them
   * (a stop): answer what arrives and close each once idle, instead of handing it back. Sent
   * again with `close` to a worker already draining with hand-off (a stop during a reload).
   */
  | { t: 'drain'; close?: boolean }
  | { t: 'stats'; id: number }
  | { t: 'adopt'; pending: string }
  /** A new connection the master accepted (the socket is the send handle); answer `accepted`. */
  | { t: 'connection'; id: number };

/** Env var carrying the {@link WorkerBootstrap}. */
export const WORKER_ENV = 'THRIFTHOST_WORKER';

/** Exit codes with a meaning the supervisor acts on. */
export const WORKER_EXIT = {
  /** Drained or stopped on request. */
  OK: 0,
  /** Could not load the service or handler: do not respawn in a loop, report it. */
  LOAD_FAILED: 78,
  /** Could not listen (port in use, permission). */
  LISTEN_FAILED: 79,
} as const;
