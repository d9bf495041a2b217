#!/usr/bin/env node
// Fuzzer for the worker's receive path: malformed inputs across all six protocol x transport
// combinations, each on its own connection, against a listener in a child process, while a
// valid client on another connection keeps calling. Counts crashes, hangs, RSS growth; saves
// any input that crashed or hung the server to test/fixtures/fuzz-corpus/ (replayed by npm test).
//
// usage: node chaos/fuzz.mjs [--inputs N] [--seed S] [--json]
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const thrift = require('thrift');
const { loadGeneratedService } = require('../dist/src/common/generated-service.js');
const { WriteBuffer } = require('../dist/src/common/write-buffer.js');
const { protocolClass, transportClass, PROTOCOLS, TRANSPORTS } = require('../dist/src/common/protocols.js');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const TOTAL = opt('inputs', 102_000);
let seed = opt('seed', 12345);
const CONCURRENCY = 64;
const HANG_MS = 3000;
const corpusDir = path.join(root, 'test/fixtures/fuzz-corpus');

/** Deterministic PRNG (mulberry32) so a run can be repeated with --seed. */
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (n) => Math.floor(rand() * n);

const catalog = loadGeneratedService(path.join(root, 'gen'), 'Catalog');
const types = require(path.join(root, 'gen/Catalog/Catalog_types.js'));

/** Valid call messages of every Catalog method, encoded with `protocol`/`framed`. */
function validMessages(protocol, framed) {
  const out = [];
  const sample = {
    ping: {},
    get: { id: new thrift.Int64(7) },
    put: {
      item: new types.Item({
        id: 1,
        title: 'x',
        tags: ['a', 'b'],
        stock: { k: 1 },
        related: [2, 3],
        thumbnail: Buffer.from('zz'),
      }),
    },
    find: { query: 'x', limit: 3 },
    index: { tags: ['a', 'b'] },
    touch: { id: 1 },
    add: { a: 1, b: 2 },
    echo: { data: Buffer.from('hi'), delayMs: 0 },
    fail: { how: 'sync' },
  };
  for (const [name, method] of catalog.methods) {
    // echo sleeps for a caller-chosen time: a mutated delay is a slow handler, not a server bug.
    if (name === 'echo') continue;
    const w = new WriteBuffer(framed, (m) => out.push(m));
    const p = new (protocolClass(protocol))(w);
    p.writeMessageBegin(name, method.oneway ? 4 : 1, randInt(1000));
    new method.Args(sample[name]).write(p);
    p.writeMessageEnd();
    p.flush();
  }
  return out;
}

/** One malformed input and the name of the mutation that made it. */
function mutate(valid, framed) {
  const base = Buffer.from(valid[randInt(valid.length)]);
  const kind = randInt(9);
  switch (kind) {
    case 0: // random bytes
      return ['random', Buffer.from(Array.from({ length: 1 + randInt(200) }, () => randInt(256)))];
    case 1: {
      // bit flips
      const b = Buffer.from(base);
      for (let i = 0, n = 1 + randInt(4); i < n; i++) b[randInt(b.length)] ^= 1 << randInt(8);
      return ['bitflip', b];
    }
    case 2: // truncated
      return ['truncated', base.subarray(0, randInt(base.length))];
    case 3: {
      // huge declared length at a random 4-byte boundary
      const b = Buffer.from(base);
      const at = randInt(Math.max(1, b.length - 4));
      b.writeInt32BE([0x7fffffff, 0x10000000, -1, 0x00ffffff][randInt(4)], at);
      return ['huge-length', b];
    }
    case 4: {
      // frame header lies about the size
      const b = Buffer.from(base);
      if (framed) b.writeInt32BE(b.length + randInt(1 << 20), 0);
      else b.writeInt32BE(0x7ffffff0, Math.min(8, b.length - 4));
      return ['lying-size', b];
    }
    case 5: {
      // deep nesting: struct-in-struct far beyond any sane depth
      const depth = 100 + randInt(5000);
      const body = Buffer.alloc(depth * 3 + 1);
      for (let i = 0; i < depth; i++) {
        body.writeUInt8(12, i * 3);
        body.writeInt16BE(1, i * 3 + 1);
      }
      const head = base.subarray(0, Math.min(base.length, framed ? 4 + 12 + 4 : 12 + 4));
      const b = Buffer.concat([head, body]);
      if (framed) b.writeInt32BE(b.length - 4, 0);
      return ['deep-nesting', b];
    }
    case 6: {
      // wrong message type (REPLY / EXCEPTION / 0 / 9)
      const b = Buffer.from(base);
      const at = framed ? 7 : 3;
      if (b.length > at) b[at] = [2, 3, 0, 9][randInt(4)];
      return ['message-type', b];
    }
    case 7: {
      // unknown method name of the same length
      const s = base
        .toString('latin1')
        .replace(/ping|get|put|find|index|touch|add|echo|fail/, (m) => 'z'.repeat(m.length));
      return ['unknown-method', Buffer.from(s, 'latin1')];
    }
    default: {
      // huge container size inside a valid-looking message
      const b = Buffer.from(base);
      for (let i = 0; i + 5 < b.length; i++) {
        if ((b[i] === 11 || b[i] === 12) && rand() < 0.3) {
          b.writeInt32BE(0x7ffffff, i + 1);
          break;
        }
      }
      return ['container-size', b];
    }
  }
}

/** Sends one input on a fresh connection, half-closes, waits for the server to close. */
function probe(port, bytes) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ hang: true, got });
    }, HANG_MS);
    s.on('data', (d) => (got += d.length));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ hang: false, got });
    });
    s.end(bytes);
  });
}

async function runCombo(protocol, transport, count) {
  const framed = transport === 'framed';
  const child = fork(path.join(root, 'chaos/fuzz-server.cjs'), [protocol, transport], {
    stdio: 'inherit',
    execArgv: ['--expose-gc'],
  });
  let crashed = 0;
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const port = await new Promise((r) => child.on('message', (m) => m.t === 'port' && r(m.port)));
  // Bounded: a server that died or stopped answering must show up in the report, not stall the run.
  const rss = () =>
    withTimeout(
      new Promise((r) => {
        const on = (m) => {
          if (m.t !== 'rss') return;
          child.off('message', on);
          r(m);
        };
        child.on('message', on);
        if (!exited) child.send({ t: 'rss' });
      }),
      10_000,
      { rss: NaN, heapUsed: NaN, snapshot: null, noAnswer: true },
    );
  // A valid client on its own connection, calling throughout.
  const conn = thrift.createConnection('127.0.0.1', port, {
    protocol: protocolClass(protocol),
    transport: transportClass(transport),
    max_attempts: 1,
  });
  conn.on('error', () => {});
  const client = thrift.createClient(require(path.join(root, 'gen/Catalog/Catalog.js')), conn);
  let validOk = 0;
  let validFailed = 0;
  let stop = false;
  const validLoop = (async () => {
    while (!stop && !exited) {
      try {
        // The Apache client never fails a call on a dead connection: bound it.
        const hung = Symbol('hung');
        const r = await withTimeout(client.add(new thrift.Int64(1), new thrift.Int64(2)), HANG_MS, hung);
        if (r === hung) throw new Error('valid call hung');
        validOk++;
      } catch {
        validFailed++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();

  const valid = validMessages(protocol, framed);
  const start = await rss();
  const rssStart = start.rss;
  const byKind = {};
  let hangs = 0;
  let sent = 0;
  const saved = [];
  const worker = async () => {
    while (sent < count && !exited) {
      sent++;
      const [kind, bytes] = mutate(valid, framed);
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      const r = await probe(port, bytes);
      if (r.hang || exited) {
        if (r.hang) hangs++;
        saved.push({ kind: exited ? `crash-${kind}` : `hang-${kind}`, bytes });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const end = exited ? { rss: NaN, snapshot: null } : await rss();
  stop = true;
  await validLoop;
  conn.destroy();
  if (exited) crashed = 1;
  child.kill();
  for (const s of saved.slice(0, 20)) {
    fs.mkdirSync(corpusDir, { recursive: true });
    fs.writeFileSync(
      path.join(corpusDir, `${protocol}-${transport}-${s.kind}-${Date.now()}-${randInt(1e6)}.bin`),
      s.bytes,
    );
  }
  return {
    combo: `${protocol}/${transport}`,
    inputs: sent,
    crashes: crashed,
    hangs,
    validOk,
    validFailed,
    rssStartMB: +(rssStart / 2 ** 20).toFixed(1),
    rssEndMB: +(end.rss / 2 ** 20).toFixed(1),
    heapStartMB: +(start.heapUsed / 2 ** 20).toFixed(1),
    heapEndMB: +(end.heapUsed / 2 ** 20).toFixed(1),
    serverConnectionsLeft: end.snapshot?.connections ?? null,
    byKind,
  };
}

/** `promise`, or `fallback` if it has not settled within `ms`. */
function withTimeout(promise, ms, fallback) {
  let timer;
  const late = new Promise((r) => {
    timer = setTimeout(() => r(fallback), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const combos = PROTOCOLS.flatMap((p) => TRANSPORTS.map((t) => [p, t]));

if (args.includes('--seed-corpus')) {
  // One input of every mutation kind per combination: the regression corpus npm test replays.
  fs.mkdirSync(corpusDir, { recursive: true });
  for (const [p, t] of combos) {
    const valid = validMessages(p, t === 'framed');
    const seen = new Set();
    while (seen.size < 9) {
      const [kind, bytes] = mutate(valid, t === 'framed');
      if (seen.has(kind)) continue;
      seen.add(kind);
      fs.writeFileSync(path.join(corpusDir, `${p}-${t}-seed-${kind}.bin`), bytes);
    }
  }
  console.log(`wrote ${combos.length * 9} inputs to ${path.relative(root, corpusDir)}`);
  process.exit(0);
}
const results = [];
const started = Date.now();
for (const [p, t] of combos) {
  results.push(await runCombo(p, t, Math.ceil(TOTAL / combos.length)));
  const r = results.at(-1);
  console.error(`fuzz: ${r.combo} ${r.inputs} inputs, crashes ${r.crashes}, hangs ${r.hangs}, valid ${r.validOk}/${r.validFailed} ok/failed`);
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (args.includes('--json')) console.log(JSON.stringify({ results, secs }));
else {
  console.log(`fuzz: ${results.reduce((a, r) => a + r.inputs, 0)} inputs in ${secs} s`);
  console.table(results.map(({ byKind: _byKind, ...r }) => r));
}
process.exitCode = results.some((r) => r.crashes || r.hangs || r.validFailed) ? 1 : 0;
