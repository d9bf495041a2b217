// Scenario 6: slow clients and connection floods, while other clients keep calling.
//  a) thousands of idle connections (bounded by the open-file limit, which is reported);
//  b) clients that pipeline large Catalog.echo calls and never read a byte of the replies: the
//     worker must stop reading them once 4 MiB of replies wait (bounded memory) and close them
//     after idleTimeoutMs without progress.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { catalogService, GEN_DIR, helloService, Host, ROOT, sleep, waitFor } from '../lib/host.mjs';
import { helloCall, hostClient, MB, round, runLoops, ThriftClient } from '../lib/load.mjs';

const require = createRequire(import.meta.url);
const { loadGeneratedService } = require(path.join(ROOT, 'dist/src/codec/generated-service.js'));
const { WriteBuffer } = require(path.join(ROOT, 'dist/src/codec/write-buffer.js'));
const { protocolClass } = require(path.join(ROOT, 'dist/src/codec/protocols.js'));

/** src/worker/server-connection.ts MAX_WRITE_BACKLOG: a connection stops reading past this many unsent reply bytes. */
const WRITE_BACKLOG = 4 * MB;
const NON_READERS = 4;
const PAYLOAD = 1 * MB;
const REQUESTS_EACH = 48;

export default {
  id: '6',
  title: 'connection flood and clients that do not read',
  limitMs: ({ quick }) => (quick ? 90_000 : 180_000),
  async run({ quick, log }) {
    const limits = openFileLimits();
    // The host's processes inherit this process's limit; each side holds one socket per connection.
    const wanted = quick ? 2000 : 5000;
    const flood = Math.max(0, Math.min(wanted, (limits.soft ?? 1024) - 500));
    const idleTimeoutMs = quick ? 3000 : 5000;
    const host = await Host.create({
      label: 's6',
      services: [
        helloService(2),
        catalogService({ idleTimeoutMs }),
      ],
    });
    const sockets = [];
    try {
      await host.start();
      const a = await floodPart({ host, flood, sockets, log });
      const b = await nonReaderPart({ host, idleTimeoutMs, log });
      const crashes = host.unexpectedExits().length;
      const aPass =
        a.connected === flood && a.others.failed === 0 && a.others.wrong === 0 && a.serverSaw >= flood;
      const bPass =
        b.others.failed === 0 &&
        b.others.wrong === 0 &&
        b.rssGrowthMB <= b.rssBoundMB &&
        b.closedAfterS.every((s) => s !== null && s <= b.closeBoundS);
      return {
        rows: [
          {
            scenario: `6a ${a.connected.toLocaleString('en-US')} idle connections (ulimit -n ${limits.soft})`,
            calls: a.others.calls,
            failed: a.others.failed,
            lost: a.others.wrong + a.others.neverSettled,
            crashes,
            recover: `opened in ${a.openS} s; +${a.kbPerConnection} KB RSS/conn`,
            target: `all ${flood} accepted, other calls 0 failed`,
            measured: { name: 'RSS per idle connection', value: a.kbPerConnection, unit: 'KB' },
            pass: aPass,
            note: aPass
              ? undefined
              : `connected ${a.connected}/${flood}, server saw ${a.serverSaw}, connect errors ${JSON.stringify(a.connectErrors)}, other calls ${JSON.stringify(a.others.codes)}`,
          },
          {
            scenario: `6b ${NON_READERS} non-reading clients, ${REQUESTS_EACH} x 1 MiB replies each`,
            calls: b.others.calls,
            failed: b.others.failed,
            lost: b.others.wrong + b.others.neverSettled,
            crashes,
            recover: `closed after ${b.closedAfterS.join(', ')} s (idle ${idleTimeoutMs / 1000} s)`,
            target: `RSS +<= ${b.rssBoundMB} MB, closed <= ${b.closeBoundS} s, others 0 failed`,
            measured: { name: 'worker RSS +', value: b.rssGrowthMB, unit: 'MB', bound: b.rssBoundMB },
            pass: bPass,
            note: bPass
              ? undefined
              : `worker RSS +${b.rssGrowthMB} MB (bound ${b.rssBoundMB}), closed after ${JSON.stringify(b.closedAfterS)}, other calls ${JSON.stringify(b.others.codes)}`,
          },
        ],
        details: {
          openFileLimit: limits,
          flood: { ...a, others: a.others.summary() },
          nonReaders: { ...b, others: b.others.summary() },
        },
      };
    } finally {
      for (const s of sockets) s.destroy();
      await ThriftClient.destroy();
      await host.dispose();
    }
  },
};

// --- internal ---

async function floodPart({ host, flood, sockets, log }) {
  const hello = await hostClient(host, 'HelloWorld', {
    callTimeoutMs: 3000,
  });
  const load = runLoops({
    label: 'others during flood',
    concurrency: 2,
    boundMs: 3500,
    call: helloCall(hello, 'f'),
  });
  await sleep(500);
  const before = await workerFigures(host, 'HelloWorld');
  const connectErrors = {};
  let connected = 0;
  const t0 = performance.now();
  for (let i = 0; i < flood; i += 250) {
    const batch = [];
    for (let j = i; j < Math.min(flood, i + 250); j++) {
      batch.push(
        new Promise((resolve) => {
          const s = net.connect(host.ports.HelloWorld, '127.0.0.1');
          sockets.push(s);
          s.on('connect', () => {
            connected++;
            resolve();
          });
          s.on('error', (err) => {
            connectErrors[err.code] = (connectErrors[err.code] ?? 0) + 1;
            resolve();
          });
        }),
      );
    }
    await Promise.all(batch);
  }
  const openS = round((performance.now() - t0) / 1000, 2);
  // The primary hands each accepted connection to a worker: wait until they are all counted.
  const seen = await waitFor(
    async () => {
      const f = await workerFigures(host, 'HelloWorld');
      return f.connections >= before.connections + connected && f;
    },
    15_000,
    250,
  );
  const during = seen || (await workerFigures(host, 'HelloWorld'));
  await sleep(2000);
  const stillOpen = sockets.filter((s) => !s.destroyed).length;
  const others = await load.stop();
  await ThriftClient.destroy();
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  const drained = await waitFor(
    async () => {
      const f = await workerFigures(host, 'HelloWorld');
      return f.connections <= before.connections && f;
    },
    15_000,
    250,
  );
  const rssGrowth = during.rss - before.rss;
  log(
    `${connected}/${flood} connected in ${openS} s; RSS +${round(rssGrowth / MB)} MB over ${during.workers} workers`,
  );
  return {
    wanted: flood,
    connected,
    connectErrors,
    openS,
    serverSaw: during.connections - before.connections,
    stillOpenAfter2s: stillOpen,
    workerRssBeforeMB: round(before.rss / MB),
    workerRssDuringMB: round(during.rss / MB),
    kbPerConnection: connected ? round(rssGrowth / 1024 / connected, 1) : null,
    connectionsClosedOnServerAfterClientsLeft: Boolean(drained),
    others,
  };
}

async function nonReaderPart({ host, idleTimeoutMs, log }) {
  const catalog = await hostClient(host, 'Catalog', {
    transport: 'framed',
    callTimeoutMs: 3000,
  });
  const load = runLoops({
    label: 'others during non-readers',
    concurrency: 2,
    boundMs: 3500,
    call: (loop, n) => ({ promise: catalog.echo(Buffer.from(`e${loop}-${n}`), 0), expect: `e${loop}-${n}` }),
  });
  await sleep(500);
  const before = await workerFigures(host, 'Catalog');
  const request = echoRequest(PAYLOAD);
  const t0 = performance.now();
  const clients = [];
  for (let i = 0; i < NON_READERS; i++) {
    const s = net.connect(host.ports.Catalog, '127.0.0.1');
    const c = { socket: s, closedAt: null, error: null };
    s.on('connect', () => {
      // Never read: no 'data' listener, and stop the event loop reading into our buffer.
      s.pause();
      for (let k = 0; k < REQUESTS_EACH; k++) s.write(request);
    });
    s.on('error', (err) => {
      c.error = err.code;
    });
    s.on('close', () => {
      c.closedAt = performance.now();
    });
    clients.push(c);
  }
  let peak = before.rss;
  // Node defers a socket's 'timeout' once when a write was still in progress at the first
  // expiry, so a peer that stopped reading mid-reply is cut off after 1-2 x idleTimeoutMs.
  const closeBoundS = (2 * idleTimeoutMs) / 1000 + 3;
  const deadline = t0 + (closeBoundS + 3) * 1000;
  while (performance.now() < deadline && clients.some((c) => c.closedAt === null)) {
    const f = await workerFigures(host, 'Catalog').catch(() => undefined);
    if (f && f.rss > peak) peak = f.rss;
    await sleep(200);
  }
  const others = await load.stop();
  await ThriftClient.destroy();
  for (const c of clients) c.socket.destroy();
  const rssGrowthMB = round((peak - before.rss) / MB);
  const closedAfterS = clients.map((c) => (c.closedAt === null ? null : round((c.closedAt - t0) / 1000, 1)));
  log(`worker RSS +${rssGrowthMB} MB; non-readers closed after ${closedAfterS.join(', ')} s`);
  return {
    idleTimeoutMs,
    writeBacklogMB: WRITE_BACKLOG / MB,
    requestedReplyMBEach: (REQUESTS_EACH * PAYLOAD) / MB,
    workerRssBeforeMB: round(before.rss / MB),
    workerRssPeakMB: round(peak / MB),
    rssGrowthMB,
    // Unbounded buffering would hold every reply asked for (NON_READERS x REQUESTS_EACH MiB);
    // bounded, the worker holds about WRITE_BACKLOG per connection plus garbage not yet collected.
    rssBoundMB: (NON_READERS * REQUESTS_EACH * PAYLOAD) / MB / 2,
    rssGrowthPerConnectionMB: round(rssGrowthMB / NON_READERS),
    closedAfterS,
    closeBoundS,
    clientErrors: clients.map((c) => c.error),
    others,
  };
}

/** Sum of connections and RSS of the workers of one service (control socket). */
async function workerFigures(host, service) {
  const status = await host.status();
  const ws = status.workers.filter((w) => w.service === service);
  return {
    workers: ws.length,
    connections: ws.reduce((n, w) => n + (w.connections ?? 0), 0),
    rss: ws.reduce((n, w) => n + (w.rssBytes ?? 0), 0),
  };
}

/** One framed binary Catalog.echo(data, 0) call of `bytes` bytes (written many times). */
function echoRequest(bytes) {
  const echo = loadGeneratedService(GEN_DIR, 'Catalog').methods.get('echo');
  let out;
  const w = new WriteBuffer(true, (m) => {
    out = m;
  });
  const p = new (protocolClass('binary'))(w);
  p.writeMessageBegin('echo', 1, 1);
  new echo.Args({ data: Buffer.alloc(bytes, 0x61), delayMs: 0 }).write(p);
  p.writeMessageEnd();
  p.flush();
  return out;
}

/** Soft and hard limits on open files of this process (inherited by the host it starts). */
function openFileLimits() {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
    return { soft: Number(soft), hard: Number(hard) };
  } catch {
    return { soft: undefined, hard: undefined };
  }
}
