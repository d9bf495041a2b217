/**
 * Test helper for the statistics tests: several Catalog listeners in this process standing in
 * for a service's workers, a {@link StatsSource} over them shaped like the supervisor's
 * `status()`, a statistics server on 127.0.0.1 port 0, calls of known outcome, and a small HTTP
 * GET. Everything is closed by the returned `close()`.
 */
import http from 'node:http';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import pino from 'pino';
import type { StatsConfig } from '../../src/config/config.js';
import type { HostSnapshot, StatsSource } from '../../src/monitoring/stats-aggregate.js';
import { type StatsServer, type StatsServerOptions, startStatsServer } from '../../src/monitoring/stats-server.js';
import type { ThriftServer } from '../../src/worker/thrift-worker.js';
import { rawClient, startServer } from './in-process-server.js';

/** A Catalog listener standing in for one worker. */
export interface FakeWorker {
  server: ThriftServer;
  port: number;
  /** Pretend pid: every listener here runs in this process, the master tells workers apart by pid. */
  pid: number;
}

/** Starts `count` Catalog listeners and a source reporting them as the workers of one service. */
export async function startCatalogWorkers(count: number): Promise<{
  workers: FakeWorker[];
  source: StatsSource & { snapshots: number };
  close(): void;
}> {
  const workers: FakeWorker[] = [];
  const closers: (() => void)[] = [];
  for (let i = 0; i < count; i++) {
    const { server, port, close } = await startServer({ service: 'Catalog' });
    closers.push(close);
    workers.push({ server, port, pid: 900_000 + i });
  }
  const startedAt = Date.now() - 3_600_000;
  const source = {
    snapshots: 0,
    async collect(): Promise<HostSnapshot> {
      source.snapshots++;
      return {
        master: {
          pid: process.pid,
          startedAt,
          rssBytes: process.memoryUsage.rss(),
          generation: 1,
          version: 'test',
        },
        workers: workers.map((w, slot) => ({
          ...w.server.snapshot(),
          pid: w.pid,
          state: 'listening',
          generation: 1,
          restarts: 0,
          slot,
        })),
      };
    },
  };
  return {
    workers,
    source,
    close: () => {
      for (const c of closers) c();
    },
  };
}

/** Starts a statistics server whose logs go nowhere. */
export function startTestStatsServer(
  config: StatsConfig,
  source: StatsSource,
  options: StatsServerOptions = {},
): Promise<StatsServer> {
  return startStatsServer(config, source, pino({ level: 'silent' }), { env: {}, ...options });
}

/** What each kind of call does to a Catalog listener. */
export const CALLS = {
  /** success */
  add: (c: any) => c.add(2, 3),
  /** success */
  ping: (c: any) => c.ping(),
  /** declared exception InvalidItem (`put` declares it; `fail('declared')` throws it undeclared) */
  invalid: (c: any) => c.put({ id: 1, title: '' }),
  /** INTERNAL_ERROR: InvalidItem is not among the exceptions `fail` declares */
  undeclared: (c: any) => c.fail('declared'),
  /** declared exception NotFound */
  missing: (c: any) => c.get(424242),
  /** INTERNAL_ERROR (handler throws) */
  sync: (c: any) => c.fail('sync'),
  /** INTERNAL_ERROR (handler rejects) */
  async: (c: any) => c.fail('async'),
} as const;

/**
 * Makes calls over one connection to `port`, `plan[kind]` of each kind; returns how each call
 * ended as seen by the caller (`ok`, or the error's name), counted.
 */
export async function makeCalls(
  port: number,
  plan: Partial<Record<keyof typeof CALLS, number>>,
): Promise<Record<string, number>> {
  const { client, close } = rawClient('Catalog', port);
  const seen: Record<string, number> = {};
  try {
    for (const [kind, n] of Object.entries(plan) as [keyof typeof CALLS, number][]) {
      for (let i = 0; i < n; i++) {
        let outcome: string;
        try {
          await CALLS[kind](client);
          outcome = 'ok';
        } catch (err) {
          outcome = (err as Error).name;
        }
        seen[outcome] = (seen[outcome] ?? 0) + 1;
      }
    }
  } finally {
    close();
  }
  return seen;
}

/** GET over a fresh connection; resolves with status, headers and body. */
export function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

/** Fetches and parses `/metrics` with a real Prometheus text-format parser. */
export async function scrape(base: string, headers: Record<string, string> = {}): Promise<Metrics> {
  const res = await get(`${base}/metrics`, headers);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return new Metrics(parsePrometheusTextFormat(res.body), res.body);
}

/** Parsed `/metrics` with lookups by name and labels. */
export class Metrics {
  constructor(
    readonly families: ParsedFamily[],
    readonly text: string,
  ) {}

  family(name: string): ParsedFamily {
    const f = this.families.find((x) => x.name === name);
    if (!f) throw new Error(`no metric family ${name} in /metrics`);
    return f;
  }

  /** The value of the one sample whose labels include `labels`; undefined when none matches. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const matches = this.family(name).metrics.filter((m) =>
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
    );
    if (matches.length > 1)
      throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
    return matches[0]?.value === undefined ? undefined : Number(matches[0].value);
  }

  /** Sum over the samples of a counter or gauge whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.family(name)
      .metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
      .reduce((n, m) => n + Number(m.value), 0);
  }

  /**
   * The histogram series of `name` whose labels are exactly `labels`. parse-prometheus-text-format
   * only reads unlabelled histograms (it merges all series into one and drops labelled `_sum` and
   * `_count`), so it is handed one series at a time with those labels taken out: the family's
   * header plus that series' `_bucket`, `_sum` and `_count` lines.
   */
  histogram(
    name: string,
    labels: Record<string, string>,
  ): { buckets: Record<string, number>; count: number; sum: number } {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const lines = this.text.split('\n').filter((line) => {
      if (line === `# TYPE ${name} histogram` || line.startsWith(`# HELP ${name} `)) return true;
      const sampleName = /^[a-zA-Z_:][\w:]*/.exec(line)?.[0];
      if (sampleName !== `${name}_bucket` && sampleName !== `${name}_sum` && sampleName !== `${name}_count`)
        return false;
      return pairs.every(
        (p) =>
          line.includes(`{${p},`) ||
          line.includes(`,${p},`) ||
          line.includes(`,${p}}`) ||
          line.includes(`{${p}}`),
      );
    });
    const unlabelled = lines.map((line) =>
      line.startsWith('#')
        ? line
        : pairs
            .reduce((l, p) => l.replace(`${p},`, '').replace(`,${p}`, '').replace(p, ''), line)
            .replace('{}', ''),
    );
    if (unlabelled.some((l) => !l.startsWith('#') && /\{(?!le=")/.test(l))) {
      throw new Error(`${name} has labels besides ${JSON.stringify(labels)} and le`);
    }
    const m = parsePrometheusTextFormat(`${unlabelled.join('\n')}\n`)[0]?.metrics[0];
    if (!m?.buckets) throw new Error(`no histogram ${name} ${JSON.stringify(labels)}`);
    return {
      buckets: Object.fromEntries(Object.entries(m.buckets).map(([le, n]) => [le, Number(n)])),
      count: Number(m.count),
      sum: Number(m.sum),
    };
  }
}
