/**
 * Turns bench measurements into figures people read: medians over repeats, per-run ratios
 * against the Apache Node server with the same process count (median and min–max, see
 * stats.mjs), the issue's targets judged on those intervals, and the Markdown report.
 */
import { runLine } from './run-info.mjs';
import { detects, fmtSpread, INTERVAL_NOTE, median, pairedRatios, spread, verdict } from './stats.mjs';

/** The goals of issue 5, each checked against the interval of its per-run figures. */
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

/**
 * Median of every figure over repeats, one row per (contender, transport, conns); against its
 * baseline, the per-run ratios of req/s (`vsBaseline`) and CPU µs/req (`cpuVsBaseline`).
 */
export function aggregate(rows, contenders) {
  const groups = new Map();
  for (const r of rows) {
    r.cpuUsPerReq ??= r.rps > 0 ? (r.serverCpuPct / 100 / r.rps) * 1e6 : NaN;
    const key = `${r.transport}|${r.conns}|${r.contender}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const out = [];
  for (const list of groups.values()) {
    const first = list[0];
    const row = {
      contender: first.contender,
      transport: first.transport,
      conns: first.conns,
      runs: list.length,
    };
    for (const f of FIELDS) row[f] = median(list.map((r) => r[f]));
    row.errors = list.reduce((a, r) => a + r.errors, 0);
    const baseline = contenders.find((c) => c.id === row.contender)?.baseline;
    const base = baseline && cell(rows, baseline, row.transport, row.conns);
    if (base?.length) {
      row.vsBaseline = spread(pairedRatios(list, base, 'rps'));
      row.cpuVsBaseline = spread(pairedRatios(list, base, 'cpuUsPerReq'));
    }
    out.push(row);
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

/**
 * Each target of the issue with its per-run interval and verdict (met only when the whole
 * interval clears it), for every Node version the rows were measured under (`host-2@22`, ...;
 * rows saved before versions were labelled have bare ids).
 *
 * Unpinned, the load generator shares the two cores with the server, so a req/s ratio is bounded
 * by the generator's share, not by the server: the verdicts for the multi-process contenders are
 * on server CPU per request (≥ 2× Apache's req/s becomes ≤ ½ of its CPU per request, ≥ ½ of
 * C++'s req/s ≤ 2× its CPU per request), and the req/s ratios are shown for reference.
 * `pinned` (--pin: generator and server on a core each) judges req/s of the single-process
 * contenders instead, which then measures the servers.
 */
export function checkTargets(rows, clients, { pinned = false } = {}) {
  const out = [];
  const ratio = (a, b, t, c, field = 'rps') => spread(pairedRatios(cell(rows, a, t, c), cell(rows, b, t, c), field));
  const info = (name, s) => s && out.push({ name, spread: s, text: fmtSpread(s), mark: 'ℹ', met: undefined });
  const judge = (name, s, goal, better) => s && out.push(target(name, s, goal, better));
  const cpuGoal = 1 / TARGETS.vsApacheCluster;
  const cppCpuGoal = 1 / TARGETS.vsCppNonblocking;
  for (const major of nodeMajors(rows)) {
    const v = (id) => (major ? `${id}@${major}` : id);
    const on = major ? `, Node ${major}` : '';
    if (pinned) {
      for (const t of ['framed', 'buffered']) {
        for (const c of [1, 8, 64]) {
          judge(`pinned: host ×1 ≥ ${TARGETS.vsApacheCluster}× Apache ×1 req/s (${t}, ${c} conns${on})`, ratio(v('host-1'), v('apache-1'), t, c), TARGETS.vsApacheCluster, 'higher');
          info(`pinned: host ×1 vs Apache ×1 server CPU per request (${t}, ${c} conns${on})`, ratio(v('host-1'), v('apache-1'), t, c, 'cpuUsPerReq'));
        }
      }
      for (const c of [1, 8, 64]) {
        judge(`pinned: host ×1 ≥ ${TARGETS.vsCppNonblocking}× C++ TNonblockingServer (1 IO thread) req/s (framed, ${c} conns${on})`, ratio(v('host-1'), 'cpp-nb-1', 'framed', c), TARGETS.vsCppNonblocking, 'higher');
        info(`pinned: host ×1 vs C++ TNonblockingServer (1 IO thread) server CPU per request (framed, ${c} conns${on})`, ratio(v('host-1'), 'cpp-nb-1', 'framed', c, 'cpuUsPerReq'));
      }
    } else {
      for (const t of ['framed', 'buffered']) {
        for (const c of [8, 64]) {
          judge(`host ×2 server CPU per request ≤ ${cpuGoal}× Apache cluster ×2 (${t}, ${c} conns${on})`, ratio(v('host-2'), v('apache-2'), t, c, 'cpuUsPerReq'), cpuGoal, 'lower');
          info(`req/s host ×2 vs Apache cluster ×2, generator on the same cores: not a verdict (${t}, ${c} conns${on})`, ratio(v('host-2'), v('apache-2'), t, c));
        }
      }
      for (const c of [1, 8, 64]) {
        judge(`host ×2 server CPU per request ≤ ${cppCpuGoal}× C++ TNonblockingServer (framed, ${c} conns${on})`, ratio(v('host-2'), 'cpp-nb', 'framed', c, 'cpuUsPerReq'), cppCpuGoal, 'lower');
        info(`req/s host ×2 vs C++ TNonblockingServer, generator on the same cores: not a verdict (framed, ${c} conns${on})`, ratio(v('host-2'), 'cpp-nb', 'framed', c));
      }
      // Not a target: what a native libthrift server reaches against Apache cluster ×2 in the same rounds.
      for (const c of [8, 64]) {
        info(`for reference, C++ TNonblockingServer vs Apache cluster ×2 req/s (framed, ${c} conns${on})`, ratio('cpp-nb', v('apache-2'), 'framed', c));
        info(`for reference, C++ TNonblockingServer vs Apache cluster ×2 server CPU per request (framed, ${c} conns${on})`, ratio('cpp-nb', v('apache-2'), 'framed', c, 'cpuUsPerReq'));
      }
    }
    for (const t of ['framed', 'buffered']) {
      for (const n of [1, 2]) judge(`p99 host ×${n} ≤ Apache ×${n} (${t}, 64 conns${on})`, ratio(v(`host-${n}`), v(`apache-${n}`), t, 64, 'p99Us'), 1, 'lower');
    }
    // The largest host worker of each run: the interval is over runs, in MiB.
    const hostRows = rows.filter((r) => /^host-\d+(@|$)/.test(r.contender) && (major ? r.contender.endsWith(`@${major}`) : !r.contender.includes('@')));
    const reps = [...new Set(hostRows.map((r) => r.rep))];
    const rss = spread(reps.map((rep) => Math.max(...hostRows.filter((r) => r.rep === rep).map((r) => r.workerRssMiB))));
    if (rss) out.push(target(`worker RSS under load ≤ ${TARGETS.workerRssMiB} MiB (largest host worker per run${on})`, rss, TARGETS.workerRssMiB, 'lower', ' MiB', 1));
  }
  for (const client of clientList(clients)) {
    const on = client.node ? `, Node ${client.node}` : '';
    for (const c of client.cells ?? []) {
      if (!c.thriftClient) continue;
      out.push(target(`ThriftClient latency ≤ ${TARGETS.clientLatencyVsRaw}× raw thrift, p50 (${c.conns} conn${c.conns > 1 ? 's' : ''} each${on})`, c.ratios.p50Us, TARGETS.clientLatencyVsRaw, 'lower'));
    }
    if (client.skipped) out.push({ name: `ThriftClient latency ≤ 1.1× raw thrift${on}`, text: client.skipped, mark: '– skipped', met: undefined });
  }
  return out;
}

/**
 * The client comparisons of a run as a list: one per Node version (`{ node: '24', ... }`), or the
 * single object that results.json held before versions were labelled.
 */
export function clientList(clients) {
  if (!clients) return [];
  return Array.isArray(clients) ? clients : [clients];
}

/** The calibration runs: each spinning contender against its baseline, and whether it was seen. */
export function calibrationList(agg, contenders, spinNs) {
  const lines = [];
  for (const r of agg.filter((x) => /-spin(@\d+)?$/.test(x.contender))) {
    const base = contenders.find((c) => c.id === r.contender)?.baseline;
    const plain = agg.find((x) => x.contender === base && x.transport === r.transport && x.conns === r.conns);
    // What the delay should give: CPU per request grows by it; req/s falls by as much only
    // when the server is CPU-bound (on its own core with --pin, or on a saturated machine).
    const cpuExpected = plain ? (plain.cpuUsPerReq + spinNs / 1000) / plain.cpuUsPerReq : NaN;
    const rps = detects(r.vsBaseline, 1 / cpuExpected);
    const cpu = detects(r.cpuVsBaseline, cpuExpected);
    lines.push(
      `- ${r.transport}, ${r.conns} conns, +${spinNs / 1000} µs per call: req/s ${fmtSpread(r.vsBaseline, 3)} ` +
        `(**${rps.mark}**, if CPU-bound); CPU µs/req ${fmtSpread(r.cpuVsBaseline, 3)} (**${cpu.mark}**)`,
    );
  }
  return lines.join('\n');
}

/** The results table as Markdown. */
export function resultsTable(agg, contenders) {
  const label = (id) => contenders.find((c) => c.id === id)?.label ?? id;
  const lines = [
    '| transport | conns | server | req/s | vs baseline: median (min–max) | p50 µs | p99 µs | p99.9 µs | errors | server CPU % | CPU µs/req | CPU/req vs baseline | RSS MiB (largest worker) | loadgen CPU % |',
    '|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const r of agg) {
    lines.push(
      `| ${r.transport} | ${r.conns} | ${label(r.contender)} | ${Math.round(r.rps).toLocaleString('en-US')} | ${
        r.vsBaseline ? fmtSpread(r.vsBaseline) : ''
      } | ${fmtUs(r.p50Us)} | ${fmtUs(r.p99Us)} | ${fmtUs(r.p999Us)} | ${r.errors} | ${r.serverCpuPct.toFixed(0)} | ${r.cpuUsPerReq.toFixed(1)} | ${
        r.cpuVsBaseline ? fmtSpread(r.cpuVsBaseline) : ''
      } | ${r.rssMiB.toFixed(0)} (${r.workerRssMiB.toFixed(0)}) | ${r.loadgenCpuPct.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

/** The client comparison (bench/client-bench.mjs) as Markdown. */
export function clientTable(client) {
  if (!client) return '_not run_';
  if (client.skipped) return client.skipped;
  if (!Array.isArray(client.cells))
    return '_saved by an older client bench (a pool of 10 against one raw connection, one run): not like for like, not shown_';
  const [a, b] = client.calibrateUs === undefined ? ['raw', 'thriftClient'] : ['raw', 'rawSpin'];
  const label = { raw: 'raw `thrift`', thriftClient: 'ThriftClient', rawSpin: `raw + ${client.calibrateUs} µs` };
  const lines = [
    `${client.transport} transport; per N: ${label[b]} with N connections against ${label[a]} with N connections, ` +
      `${client.runs} interleaved rounds of ${client.ms} ms per figure. Latency: N callers, one call at a time each; ` +
      `throughput: ${client.inflight} callers in flight over the N connections. Medians over the rounds; ` +
      `ratios ${label[b]}/${label[a]} per round, median (min–max).`,
    '',
    `| N | client | p50 µs | mean µs | p99 µs | req/s | client CPU µs/call |`,
    '|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const c of client.cells) {
    for (const name of [a, b]) {
      const m = (f) => median(c[name].map((r) => r[f]));
      lines.push(
        `| ${c.conns} | ${label[name]} | ${fmtUs(m('p50Us'))} | ${fmtUs(m('meanUs'))} | ${fmtUs(m('p99Us'))} | ${Math.round(m('rps')).toLocaleString('en-US')} | ${m('cpuUsPerCall').toFixed(1)} |`,
      );
    }
    const r = c.ratios;
    lines.push(
      `| ${c.conns} | ratio | ${fmtSpread(r.p50Us)} | ${fmtSpread(r.meanUs)} | ${fmtSpread(r.p99Us)} | ${fmtSpread(r.rps)} | ${fmtSpread(r.cpuUsPerCall)} |`,
    );
  }
  if (client.calibrateUs !== undefined) {
    const seen = (s, expected) => `${fmtSpread(s, 3)} **${detects(s, expected).mark}**`;
    lines.push('');
    for (const c of client.cells) {
      // What the delay should give: it adds to every call's latency and to the client's CPU.
      const base = (f) => median(c.raw.map((r) => r[f]));
      const us = client.calibrateUs;
      const e = {
        p50Us: (base('p50Us') + us) / base('p50Us'),
        meanUs: (base('meanUs') + us) / base('meanUs'),
        cpuUsPerCall: (base('cpuUsPerCall') + us) / base('cpuUsPerCall'),
      };
      lines.push(
        `- N = ${c.conns}, +${us} µs per call: p50 ${seen(c.ratios.p50Us, e.p50Us)}; mean ${seen(c.ratios.meanUs, e.meanUs)}; ` +
          `req/s ${seen(c.ratios.rps, 1 / e.cpuUsPerCall)} (if the client is CPU-bound); client CPU µs/call ${seen(c.ratios.cpuUsPerCall, e.cpuUsPerCall)}`,
      );
    }
  }
  return lines.join('\n');
}

/** Targets as a Markdown list. */
export function targetList(targets) {
  if (!targets.length) return '_none checked_';
  return targets.map((t) => `- ${t.mark} — ${t.name}: ${t.text}`).join('\n');
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
export function renderMarkdown({ meta, agg, contenders, targets, clients, calibration, notes, spinNs }) {
  const run = meta.run ?? { commit: meta.commit, date: meta.date, node: meta.node, loadStart: meta.loadStart, loadEnd: meta.loadEnd };
  return `# Benchmark results

Generated by \`npm run bench${meta.args ? ` -- ${meta.args}` : ''}\`: ${runLine(run)}.
Only ratios measured side by side in one run mean anything: the machine may be shared.

- Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memGiB} GiB, ${meta.os} (kernel ${meta.kernel})
- Node contenders under ${meta.nodes?.map((n) => `Node ${n.version}`).join(' and ') ?? `Node ${meta.node}`} (the bench itself: ${meta.node}), npm \`thrift\` ${meta.thriftNpm}, libthrift ${meta.libthrift}, ${meta.gxx}
- ${meta.pinned ? `Pinned (\`--pin\`): the load generator and the bench on core ${meta.pinned.loadgen}, every process and thread of the server under test on core ${meta.pinned.server}; single-process contenders only` : 'Not pinned: the load generator shares both cores with the server, so CPU per request is the verdict (see Targets)'}
- Load generator: ${meta.loadgen}; ${meta.repeat} interleaved run(s) per cell, ${meta.warmup} s warm-up + ${meta.duration} s measured
- Workload: HelloWorld.sayHello("world"), binary protocol, loopback 127.0.0.1; each connection makes synchronous calls back to back
${notes.map((n) => `- ${n}`).join('\n')}

${INTERVAL_NOTE}
${spinNs ? `\n## Calibration\n\nThe \`-spin\` contender is its baseline with a busy loop of ${spinNs / 1000} µs of CPU per call in the handler (\`--calibrate\`); a difference is detected when the interval of the per-run ratios excludes 1 on the side the delay pushes it and holds the ratio the delay should give.\n\n${calibrationList(agg, contenders, spinNs)}\n` : ''}
## Servers

${resultsTable(agg, contenders)}

"vs baseline" is the per-run ratio of req/s against the Apache Node server with the same
process count under the same Node (×1 with 1 process, ×2 with the node:cluster of 2), or, for
a variant of thrifthost, against thrifthost itself. thrifthost is \`rpc start\` with an
rpc.config.json in a temporary folder: its master accepts the connections and hands them to
the workers. Server CPU % and RSS are summed over every process of the contender (the master
or cluster primary included); 100 % is one core. CPU µs/req is that CPU divided by the requests
served: what a request costs the server, whatever share of the cores the load generator and
other programs left it.

## Targets (issue 5)

${targetList(targets)}

## Clients

${clientList(clients).map((c) => `${c.node ? `### Node ${c.node}\n\n` : ''}${clientTable(c)}`).join('\n\n') || '_not run_'}

## Load generators

${generatorTable(calibration)}
`;
}

// --- internal ---

/** The Node majors of the rows' contenders (`host-2@22` → 22); '' for ids saved without one. */
function nodeMajors(rows) {
  const majors = new Set(rows.filter((r) => !r.contender.startsWith('cpp-')).map((r) => /@(\d+)$/.exec(r.contender)?.[1] ?? ''));
  return [...majors].sort();
}

function cell(rows, id, transport, conns) {
  return rows.filter((r) => r.contender === id && r.transport === transport && r.conns === conns);
}

function target(name, s, goal, better, unit = '×', digits = 2) {
  const { mark, met } = verdict(s, goal, better);
  return { name, spread: s, text: fmtSpread(s, digits, unit), mark, met };
}

function fmtUs(us) {
  if (us === undefined || Number.isNaN(us)) return '';
  return us >= 100 ? Math.round(us).toLocaleString('en-US') : us.toFixed(1);
}
