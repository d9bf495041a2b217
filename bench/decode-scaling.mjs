/**
 * Decoding cost against message size (issue 9, item 3): for each protocol × transport, one real
 * host worker (bench/servers/host-server.cjs, Catalog, 1 worker) is sent the same ~36 MB of
 * valid calls twice over: as many ~100 KB calls, and as 3 calls of ~12 MB, every call delivered
 * in 16 KB socket writes with a pause after each (so that the worker reads them one by one, as
 * from a slow network). The worker's CPU time around each batch (the sum of its threads'
 * run time in /proc/<pid>/task/<tid>/schedstat, to the nanosecond) gives CPU per MB, and its
 * minor page faults per MB are shown beside it; the table shows the ratio CPU/MB(12 MB) ÷ CPU/MB(100 KB) per
 * combination and shape, taken within each of 5 repeats, as median (min–max) against the target
 * ≤ 1.5× (linear decoding): met only when the whole interval is under it (bench/lib/stats.mjs).
 *
 * Two shapes: `binary` (Catalog.echo with one big binary) and `list` (Catalog.put of an Item
 * whose list<string> tags holds many 8-byte strings: many small elements, the case that used
 * to be quadratic; the reply is one i64, so the figure is the decoding's).
 * A batch that takes longer than --limit seconds is abandoned and reported as such (the
 * server is restarted and the next repeats of that case are skipped). The host runs under
 * each Node version of --node (default 22 and 24, lib/node-versions.mjs), one row each.
 *
 * Usage: node bench/decode-scaling.mjs [--repeat 5] [--large-mb 12] [--large-calls 3] [--small-kb 100]
 *          [--chunk-kb 16] [--limit 60] [--combos binary/framed,json/buffered]
 *          [--shapes binary,list] [--node 22,24] [--quick] [--no-build]
 * --quick: a 4 MB large call (unless --large-mb) and a 20 s limit, same 5 repeats.
 * Writes bench/out/scaling.json and bench/out/scaling.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildHost } from './lib/build.mjs';
import { countingSocket } from './lib/counting-socket.mjs';
import { DEFAULT_NODES, nodeBinaries } from './lib/node-versions.mjs';
import { cpuRuntime, processTree, rssBytes, startNodeServer, stopAll } from './lib/processes.mjs';
import { finishRun, runLine, startRun } from './lib/run-info.mjs';
import { INTERVAL_NOTE, median, RUNS, spread, verdict } from './lib/stats.mjs';
import { REPLY, encodeMessage, thrift } from './lib/thrift-messages.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const MB = 1e6;
const TARGET = 1.5;
const COMBOS = ['binary', 'compact', 'json'].flatMap((p) => ['buffered', 'framed'].map((t) => `${p}/${t}`));

/** Options of {@link runScaling}; every field has the default shown. */
export const SCALING_DEFAULTS = {
  repeat: RUNS,
  largeMB: 12,
  /**
   * Large calls per batch (the small batch carries as many bytes). More than one, so that a
   * garbage collection falling into a batch or just after it moves the figure less.
   */
  largeCalls: 3,
  smallKB: 100,
  chunkKB: 16,
  /** Seconds one batch may take before it is abandoned. */
  limit: 60,
  combos: COMBOS,
  shapes: ['binary', 'list'],
  /** Node majors the host runs under, one row each (lib/node-versions.mjs). */
  node: DEFAULT_NODES,
  /** Service config keys for the host (decoding limits large enough for the 12 MB call). */
  extra: { maxMessageBytes: 64 * 2 ** 20, maxStringBytes: 32 * 2 ** 20, maxContainerElements: 4 * 2 ** 20 },
};

/**
 * Runs the scaling table.
 * @returns {Promise<{ rows: object[], markdown: string, text: string }>}
 */
export async function runScaling(options = {}) {
  const o = { ...SCALING_DEFAULTS, ...options };
  const run = startRun();
  const catalog = loadCatalog();
  const rows = [];
  const { nodes, skipped } = o.nodes ? { nodes: o.nodes, skipped: [] } : nodeBinaries(o.node.split(','));
  for (const skip of skipped) console.log(skip);
  console.log(
    `scaling: ${o.combos.length} combinations × ${o.shapes.join('/')} × Node ${nodes.map((n) => n.major).join('/')} × ${o.repeat} repeat(s): ` +
      `${o.smallKB} KB calls vs ${o.largeCalls} × ${o.largeMB} MB calls, ${o.chunkKB} KB writes, limit ${o.limit} s per batch`,
  );
  for (const { node, combo } of nodes.flatMap((node) => o.combos.map((combo) => ({ node, combo })))) {
    const [protocol, transport] = combo.split('/');
    let server = await startHost(protocol, transport, o.extra, node);
    for (const shape of o.shapes) {
      const total = o.largeCalls * o.largeMB * MB;
      const small = buildBatch(catalog, { protocol, transport, shape, bytes: o.smallKB * 1000, total });
      const large = buildBatch(catalog, { protocol, transport, shape, bytes: o.largeMB * MB, total });
      const row = { node: node.major, combo, shape, small: [], large: [], ratios: [], notes: [] };
      let largeGaveUp = false;
      for (let rep = 0; rep < o.repeat; rep++) {
        // Alternate which size goes first, so that neither always meets a colder JIT.
        const order = rep % 2 === 0 ? ['small', 'large'] : ['large', 'small'];
        const got = {};
        for (const size of order) {
          if (size === 'large' && largeGaveUp) continue;
          const batch = size === 'small' ? small : large;
          const m = await measureBatch(server, batch, o);
          if (m.error) {
            row.notes.push(`${size}: ${m.error}`);
            if (size === 'large') largeGaveUp = true;
            await server.stop();
            server = await startHost(protocol, transport, o.extra, node);
            continue;
          }
          got[size] = m;
          row[size].push(m);
        }
        if (got.small && got.large) row.ratios.push(got.large.cpuPerMB / got.small.cpuPerMB);
        console.log(
          `  Node ${node.major} ${combo.padEnd(16)} ${shape.padEnd(6)} rep ${rep + 1}: ` +
            `${fmtBatch(got.small, small)} | ${fmtBatch(got.large, large)}` +
            `${got.small && got.large ? `  ratio ${(got.large.cpuPerMB / got.small.cpuPerMB).toFixed(2)}` : ''}`,
        );
      }
      rows.push(summarize(row, small, large));
    }
    await server.stop();
  }
  const info = finishRun(run);
  const text = textTable(rows, o);
  const markdown = markdownTable(rows, { ...o, run: info });
  return { rows, text, markdown, run: info };
}

// --- internal ---

function loadCatalog() {
  const { loadGeneratedService } = require(path.join(root, 'dist/src/codec/generated-service.js'));
  return loadGeneratedService(path.join(root, 'gen'), 'Catalog');
}

async function startHost(protocol, transport, extra, node) {
  const label = `host Catalog ${protocol}/${transport}, Node ${node.major}`;
  const server = await startNodeServer('host-server.cjs', label, { node: node.bin, service: 'Catalog', count: 1, protocol, transport, extra });
  const worker = processTree(server.pid)[1];
  if (!worker) throw new Error(`host ${protocol}/${transport}: no worker process under pid ${server.pid}`);
  return { ...server, worker };
}

/**
 * The calls of one batch: `total` bytes' worth of calls of about `bytes` each, with the reply
 * each must get (encoded the same way, so that the end of a reply is known by its length).
 */
function buildBatch(catalog, { protocol, transport, shape, bytes, total }) {
  const method = shape === 'binary' ? 'echo' : 'put';
  const { Args, Result } = catalog.methods.get(method);
  // Calibrate the payload size on a small sample: the envelope and per-element cost differ by protocol.
  const encode = (n, seqid, type, struct) =>
    encodeMessage({ protocol, transport, name: method, type, seqid, struct });
  let call;
  let reply;
  let settle;
  if (shape === 'binary') {
    const perByte = encode(0, 0, 1, new Args({ data: Buffer.alloc(1000, 'x'), delayMs: 0 })).length / 1000;
    const data = Buffer.alloc(Math.round(bytes / perByte), 'x');
    call = (seqid) => encode(0, seqid, 1, new Args({ data, delayMs: 0 }));
    reply = (seqid) => encode(0, seqid, REPLY, new Result({ success: data.toString('latin1') }));
  } else {
    // An Item whose tags list holds the bulk: the reply is one i64, so the batch measures decoding.
    const tag = (i) => `t${String(i).padStart(7, '0')}`;
    const item = (tags) => ({ item: { id: new thrift.Int64(1), title: 'scaling', tags } });
    const perTag = encode(0, 0, 1, new Args(item(Array.from({ length: 1000 }, (_, i) => tag(i))))).length / 1000;
    const tags = Array.from({ length: Math.round(bytes / perTag) }, (_, i) => tag(i));
    call = (seqid) => {
      if (protocol !== 'json') return encode(0, seqid, 1, new Args(item(tags)));
      // Apache's JSON writer takes minutes on a million elements: it writes the call with one
      // marker tag, and the list is spliced in as the same text it would have written.
      const marker = encode(0, seqid, 1, new Args(item(['@marker@']))).toString('utf8');
      const head = transport === 'framed' ? 4 : 0;
      const text = marker
        .slice(head)
        .replace('"str",1,"@marker@"', `"str",${tags.length},${tags.map((t) => `"${t}"`).join(',')}`);
      const body = Buffer.from(text, 'utf8');
      if (!head) return body;
      const frame = Buffer.alloc(4);
      frame.writeInt32BE(body.length, 0);
      return Buffer.concat([frame, body]);
    };
    reply = (seqid) => encode(0, seqid, REPLY, new Result({ success: new thrift.Int64(1) }));
    // The handler keeps the last item put under an id: a batch ends by putting a small one, so
    // that no batch leaves a million live strings for the next one's garbage collections.
    settle = encode(0, 1, 1, new Args(item([])));
  }
  const first = call(1);
  const count = Math.max(1, Math.round(total / first.length));
  const replyLength = reply(1).length;
  return {
    label: `${count} × ${fmtBytes(first.length)}`,
    count,
    callBytes: first.length,
    // Calls in sequence on one connection may share a seqid.
    calls: Array.from({ length: count }, () => first),
    replyLength,
    /** A last call whose bytes are not counted (see `settle` above), or undefined. */
    settle,
  };
}

/** Sends the batch's calls one after another on one connection; CPU of the worker around it. */
async function measureBatch(server, batch, o) {
  const pid = server.worker;
  const before = cpuRuntime(pid);
  const faultsBefore = minorFaults(pid);
  if (before === undefined) return { error: `worker ${pid} is gone` };
  const t0 = performance.now();
  const deadline = t0 + o.limit * 1000;
  const conn = countingSocket(server.port);
  const waitFor = (check) => conn.until(check, Math.max(0, deadline - performance.now()));
  await waitFor(() => conn.socket.readyState === 'open');
  const chunk = o.chunkKB * 1024;
  let error;
  const calls = batch.settle ? [...batch.calls, batch.settle] : batch.calls;
  for (let i = 0; i < calls.length && !error; i++) {
    const bytes = calls[i];
    for (let at = 0; at < bytes.length; at += chunk) {
      if (conn.closed || performance.now() > deadline) break;
      conn.socket.write(bytes.subarray(at, at + chunk));
      // One write per read: wait for the kernel to take the chunk, then a little longer.
      await new Promise((r) => setTimeout(r, 1));
    }
    const want = batch.replyLength * (i + 1);
    if (!(await waitFor(() => conn.received >= want))) {
      error = conn.closed
        ? `connection closed after ${fmtBytes(conn.received)} of replies (call ${i + 1} of ${calls.length})`
        : `> ${o.limit} s (abandoned at call ${i + 1} of ${calls.length})`;
    } else if (conn.received > want && i === calls.length - 1) {
      error = `${conn.received - want} more reply bytes than expected (an error reply?)`;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  conn.socket.destroy();
  const after = cpuRuntime(pid);
  const faults = minorFaults(pid) - faultsBefore;
  const rss = rssBytes([pid]).get(pid) ?? 0;
  if (error) return { error };
  if (after === undefined) return { error: `worker ${pid} died` };
  const cpu = after - before;
  const mb = (batch.count * batch.callBytes) / MB;
  return { cpu, seconds, mb, cpuPerMB: cpu / mb, faultsPerMB: faults / mb, rssMiB: rss / 2 ** 20 };
}

/** Page faults the process took that needed no I/O (first touches of fresh memory, mostly). */
function minorFaults(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; minflt is field 10 of the whole line.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return NaN;
  }
}

function summarize(row, small, large) {
  const smallCpu = row.small.map((m) => m.cpuPerMB * 1000);
  const largeCpu = row.large.map((m) => m.cpuPerMB * 1000);
  const ratios = spread(row.ratios);
  const { mark, met } = verdict(ratios, TARGET, 'lower');
  return {
    node: row.node,
    combo: row.combo,
    shape: row.shape,
    small: small.label,
    large: large.label,
    smallMsPerMB: median(smallCpu),
    largeMsPerMB: median(largeCpu),
    // Per call: the batch holds large.count of them.
    largeWallS: median(row.large.map((m) => m.seconds / large.count)),
    smallFaultsPerMB: median(row.small.map((m) => m.faultsPerMB)),
    largeFaultsPerMB: median(row.large.map((m) => m.faultsPerMB)),
    ratio: ratios?.median ?? NaN,
    ratioMin: ratios?.min ?? NaN,
    ratioMax: ratios?.max ?? NaN,
    runs: row.ratios.length,
    maxRssMiB: Math.max(0, ...[...row.small, ...row.large].map((m) => m.rssMiB)),
    // An abandoned batch is a miss whatever the other runs gave.
    mark: row.notes.length ? '✗ missed' : mark,
    pass: row.notes.length === 0 && met === true,
    notes: row.notes,
  };
}

function fmtBatch(m, batch) {
  if (!m) return `${batch.label}: -`.padEnd(34);
  return `${batch.label}: ${(m.cpuPerMB * 1000).toFixed(1)} ms/MB (${m.seconds.toFixed(1)} s)`.padEnd(34);
}

function fmtBytes(n) {
  return n >= MB ? `${(n / MB).toFixed(1)} MB` : `${Math.round(n / 1000)} KB`;
}

const f0 = (x) => (Number.isFinite(x) ? String(Math.round(x)) : '-');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');

function cells(r) {
  const verdict = r.runs === 0 && !r.notes.length ? '– no data' : r.mark;
  return [
    r.node ?? '',
    r.combo,
    r.shape,
    `${f1(r.smallMsPerMB)}`,
    `${f1(r.largeMsPerMB)}`,
    r.runs ? `${f2(r.ratio)} (${f2(r.ratioMin)}–${f2(r.ratioMax)})` : '-',
    `${f1(r.largeWallS)}`,
    `${f0(r.smallFaultsPerMB)} / ${f0(r.largeFaultsPerMB)}`,
    `${f1(r.maxRssMiB)}`,
    `${verdict}${r.notes.length ? `: ${r.notes.join('; ')}` : ''}`,
  ];
}

const head = (o) => [
  'Node',
  'combination',
  'shape',
  `CPU ms/MB ${o.smallKB} KB`,
  `CPU ms/MB ${o.largeMB} MB`,
  `ratio (min–max), target ≤ ${TARGET}`,
  `${o.largeMB} MB wall s`,
  `page faults/MB ${o.smallKB} KB / ${o.largeMB} MB`,
  'worker RSS MiB',
  'verdict',
];

function textTable(rows, o) {
  const HEAD = head(o);
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  return all.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ')).join('\n');
}

function markdownTable(rows, o) {
  const HEAD = head(o);
  return [
    `## Decoding cost against message size`,
    '',
    `Worker CPU per MB of valid calls, ${o.smallKB} KB calls against ${o.largeMB} MB calls (${o.largeCalls} per batch, the ` +
      `same bytes in each batch), each delivered in ` +
      `${o.chunkKB} KB writes with a 1 ms pause; median of ${o.repeat} run(s), ratio per run, median (min–max) ` +
      `(\`node bench/decode-scaling.mjs\`: ${runLine(o.run)}). \`binary\`: Catalog.echo with one binary; \`list\`: ` +
      `Catalog.put of an Item with a list of 8-byte tags (reply: one i64).`,
    '',
    INTERVAL_NOTE,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
  ].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      repeat: { type: 'string' },
      'large-mb': { type: 'string' },
      'large-calls': { type: 'string' },
      'small-kb': { type: 'string' },
      'chunk-kb': { type: 'string' },
      limit: { type: 'string' },
      combos: { type: 'string' },
      shapes: { type: 'string' },
      extra: { type: 'string' },
      node: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
    },
  });
  if (!values['no-build'] && !buildHost(root)) throw new Error('dist/ could not be built');
  const num = (v) => (v === undefined ? undefined : Number(v));
  const options = Object.fromEntries(
    Object.entries({
      repeat: num(values.repeat),
      largeMB: num(values['large-mb']) ?? (values.quick ? 4 : undefined),
      largeCalls: num(values['large-calls']),
      smallKB: num(values['small-kb']),
      chunkKB: num(values['chunk-kb']),
      limit: num(values.limit) ?? (values.quick ? 20 : undefined),
      combos: values.combos?.split(','),
      shapes: values.shapes?.split(','),
      extra: values.extra ? JSON.parse(values.extra) : undefined,
      node: values.node,
    }).filter(([, v]) => v !== undefined),
  );
  const { rows, text, markdown, run } = await runScaling(options);
  console.log(`\n${text}`);
  const out = path.join(here, 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'scaling.json'), `${JSON.stringify({ run, options, rows }, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'scaling.md'), markdown);
  console.log(`\nwrote bench/out/scaling.json and scaling.md`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main()
    .catch((err) => {
      console.error(`decode-scaling failed: ${err.stack ?? err}`);
      process.exitCode = 1;
    })
    .finally(stopAll);
}
