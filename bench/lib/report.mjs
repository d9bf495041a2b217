/**
 * Turns bench measurements into figures people read: medians over repeats, ratios against the
 * Apache Node server with the same process count, the issue's targets, and the Markdown report.
 */

/** The goals of issue 5, checked against one run's medians. */
export const TARGETS = {
  vsApacheCluster: 2.0,
  vsCppNonblocking: 0.5,
  workerRssMiB: 60,
  clientLatencyVsRaw: 1.1,
};

const FIELDS = [
  'rps',
  'cpuUsPerReq',
  'p50Us',
  'p99Us',
  'p999Us',
  'errors',
  'serverCpuPct',
  'rssMiB',
  'workerRssMiB',
  'loadgenCpuPct',
  'load1',
];

/** Median of every figure over repeats, one row per (contender, transport, conns). */
export function aggregate(rows, contenders) {
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.transport}|${r.conns}|${r.contender}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const out = [];
  for (const list of groups.values()) {
    for (const r of list) r.cpuUsPerReq ??= r.rps > 0 ? (r.serverCpuPct / 100 / r.rps) * 1e6 : NaN;
    const first = list[0];
    const row = {
      contender: first.contender,
      transport: first.transport,
      conns: first.conns,
      runs: list.length,
    };
    for (const f of FIELDS) row[f] = median(list.map((r) => r[f]));
    row.errors = list.reduce((a, r) => a + r.errors, 0);
    out.push(row);
  }
  const find = (id, t, c) => out.find((r) => r.contender === id && r.transport === t && r.conns === c);
  for (const row of out) {
    const baseline = contenders.find((c) => c.id === row.contender)?.baseline;
    const base = baseline && find(baseline, row.transport, row.conns);
    if (base?.rps) {
      row.vsApache = row.rps / base.rps;
      row.cpuVsApache = row.cpuUsPerReq / base.cpuUsPerReq;
    }
  }
  const order = contenders.map((c) => c.id);
  out.sort(
    (a, b) =>
      a.transport.localeCompare(b.transport) ||
      a.conns - b.conns ||
      order.indexOf(a.contender) - order.indexOf(b.contender),
  );
  return out;
}

/** Each target of the issue with its measured value and whether it is met. */
export function checkTargets(agg, client) {
  const find = (id, t, c) => agg.find((r) => r.contender === id && r.transport === t && r.conns === c);
  const out = [];
  for (const t of ['framed', 'buffered']) {
    for (const c of [8, 64]) {
      const host = find('host-2', t, c);
      const apache = find('apache-2', t, c);
      if (host && apache) {
        out.push(
          target(
            `host ×2 ≥ ${TARGETS.vsApacheCluster}× Apache cluster ×2 (${t}, ${c} conns)`,
            host.rps / apache.rps,
            '×',
            (v) => v >= TARGETS.vsApacheCluster,
          ),
        );
      }
    }
  }
  for (const c of [1, 8, 64]) {
    const host = find('host-2', 'framed', c);
    const cpp = find('cpp-nb', 'framed', c);
    if (host && cpp) {
      out.push(
        target(
          `host ×2 ≥ ${TARGETS.vsCppNonblocking}× C++ TNonblockingServer (framed, ${c} conns)`,
          host.rps / cpp.rps,
          '×',
          (v) => v >= TARGETS.vsCppNonblocking,
        ),
      );
    }
  }
  for (const t of ['framed', 'buffered']) {
    for (const n of [1, 2]) {
      const host = find(`host-${n}`, t, 64);
      const apache = find(`apache-${n}`, t, 64);
      if (host && apache) {
        out.push(
          target(
            `p99 host ×${n} ≤ Apache ×${n} (${t}, 64 conns): ${fmtUs(host.p99Us)} vs ${fmtUs(apache.p99Us)} µs`,
            host.p99Us / apache.p99Us,
            '×',
            (v) => v <= 1,
          ),
        );
      }
    }
  }
  const hostRows = agg.filter((r) => r.contender.startsWith('host-'));
  if (hostRows.length > 0) {
    const worst = Math.max(...hostRows.map((r) => r.workerRssMiB));
    out.push(
      target(
        `worker RSS under load ≤ ${TARGETS.workerRssMiB} MiB (largest host worker)`,
        worst,
        ' MiB',
        (v) => v <= TARGETS.workerRssMiB,
      ),
    );
  }
  if (client?.thriftClient?.sequential && client.raw?.sequential) {
    const { thriftClient: tc, raw } = client;
    const ratio = tc.sequential.p50Us / raw.sequential.p50Us;
    const t = target(
      `ThriftClient sequential latency ≤ ${TARGETS.clientLatencyVsRaw}× raw thrift (median)`,
      ratio,
      '×',
      (v) => v <= TARGETS.clientLatencyVsRaw,
    );
    t.text += ` (${fmtUs(tc.sequential.p50Us)} vs ${fmtUs(raw.sequential.p50Us)} µs; mean ${(tc.sequential.meanUs / raw.sequential.meanUs).toFixed(2)}×)`;
    out.push(t);
  } else if (client) {
    out.push({
      name: 'ThriftClient sequential latency ≤ 1.1× raw thrift',
      value: NaN,
      text: client.thriftClient?.skipped ?? 'skipped',
      met: undefined,
    });
  }
  return out;
}

/** The results table as Markdown. */
export function resultsTable(agg, contenders) {
  const label = (id) => contenders.find((c) => c.id === id)?.label ?? id;
  const lines = [
    '| transport | conns | server | req/s | vs Apache | p50 µs | p99 µs | p99.9 µs | errors | server CPU % | CPU µs/req (vs Apache) | RSS MiB (largest worker) | loadgen CPU % |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of agg) {
    lines.push(
      `| ${r.transport} | ${r.conns} | ${label(r.contender)} | ${Math.round(r.rps).toLocaleString('en-US')} | ${
        r.vsApache === undefined ? '' : `${r.vsApache.toFixed(2)}×`
      } | ${fmtUs(r.p50Us)} | ${fmtUs(r.p99Us)} | ${fmtUs(r.p999Us)} | ${r.errors} | ${r.serverCpuPct.toFixed(0)} | ${r.cpuUsPerReq.toFixed(1)}${
        r.cpuVsApache === undefined ? '' : ` (${r.cpuVsApache.toFixed(2)}×)`
      } | ${r.rssMiB.toFixed(0)} (${r.workerRssMiB.toFixed(0)}) | ${r.loadgenCpuPct.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

/** The client comparison as Markdown. */
export function clientTable(client) {
  if (!client) return '_not run_';
  const lines = [
    `${client.transport} transport, ${client.inflight} callers in flight for the throughput column.`,
    '',
    '| client | sequential mean µs | p50 µs | p99 µs | in-flight req/s | client CPU % |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const [name, label] of [
    ['raw', 'raw `thrift` connection'],
    ['thriftClient', 'ThriftClient'],
  ]) {
    const c = client[name];
    if (!c) continue;
    if (c.skipped) lines.push(`| ${label} | ${c.skipped} | | | | |`);
    else {
      lines.push(
        `| ${label} | ${fmtUs(c.sequential.meanUs)} | ${fmtUs(c.sequential.p50Us)} | ${fmtUs(c.sequential.p99Us)} | ${Math.round(c.inFlight.rps).toLocaleString('en-US')} | ${c.inFlight.cpuPct.toFixed(0)} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Targets as a Markdown list. */
export function targetList(targets) {
  return targets
    .map((t) => `- ${t.met === undefined ? '–' : t.met ? '**met**' : '**missed**'} ${t.name}: ${t.text}`)
    .join('\n');
}

/** Load generators' cost as Markdown. */
export function generatorTable(calibration) {
  if (!calibration?.length) return '_not run_';
  const lines = ['| generator | req/s | generator CPU % | CPU µs per request |', '|---|---:|---:|---:|'];
  for (const c of calibration) {
    lines.push(
      `| ${c.generator} | ${Math.round(c.rps).toLocaleString('en-US')} | ${c.cpuPct.toFixed(0)} | ${((c.cpuPct / 100 / c.rps) * 1e6).toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

/** The whole report. */
export function renderMarkdown({ meta, agg, contenders, targets, client, calibration, notes }) {
  return `# Benchmark results

Generated by \`npm run bench${meta.quick ? ' -- --quick' : ''}\` on ${meta.date}. Only ratios measured side by side in
one run mean anything: the machine may be shared (load average ${meta.loadStart.toFixed(2)} at the start,
${meta.loadEnd.toFixed(2)} at the end).

- Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memGiB} GiB, ${meta.os} (kernel ${meta.kernel})
- Node ${meta.node}, npm \`thrift\` ${meta.thriftNpm}, libthrift ${meta.libthrift}, ${meta.gxx}
- thrifthost at ${meta.commit}
- Load generator: ${meta.loadgen}; ${meta.repeat} run(s) per cell (median), ${meta.warmup} s warm-up + ${meta.duration} s measured
- Workload: HelloWorld.sayHello("world"), binary protocol, loopback 127.0.0.1; each connection makes synchronous calls back to back
${notes.map((n) => `- ${n}`).join('\n')}

## Servers

${resultsTable(agg, contenders)}

"vs Apache" compares with the Apache Node server with the same process count (×1 with 1 process,
×2 with the node:cluster of 2). Server CPU % and RSS are summed over every process of the
contender (a cluster primary included); 100 % is one core. CPU µs/req is that CPU divided by
the requests served: what a request costs the server, whatever share of the two cores the
load generator and other programs left it.

## Targets (issue 5)

${targetList(targets)}

## Clients

${clientTable(client)}

## Load generators

${generatorTable(calibration)}
`;
}

// --- internal ---

function target(name, value, unit, ok) {
  const text = unit === '×' ? `${value.toFixed(2)}×` : `${value.toFixed(1)}${unit}`;
  return { name, value, text, met: ok(value) };
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function fmtUs(us) {
  if (us === undefined || Number.isNaN(us)) return '';
  return us >= 100 ? Math.round(us).toLocaleString('en-US') : us.toFixed(1);
}
