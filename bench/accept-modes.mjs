/**
 * Who accepts a service's connections: the master with acknowledged hand-off (the default,
 * src/master/connection-dispatcher.ts) or node:cluster's round-robin primary (`masterAccepts: false`).
 * Runs a 2-worker HelloWorld host in this process for each mode and prints:
 *   spread      64 connections, each answered once: connections per worker
 *   steady      closed-loop req/s over 64 persistent connections (bench/node-loadgen.mjs)
 *   churn       calls/s when every call opens its own connection (16 in parallel)
 *   reload      3 rolling reloads under 32 persistent + 8 churning callers: failed calls
 *
 * Usage: npm run build && node bench/accept-modes.mjs [--duration 4]
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from './lib/free-port.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Supervisor } = require(path.join(root, 'dist/src/master/supervisor.js'));
const { validateHostConfig } = require(path.join(root, 'dist/src/config/config.js'));
const { createLogger } = require(path.join(root, 'dist/src/host/logger.js'));

const { values } = parseArgs({ options: { duration: { type: 'string', default: '4' } } });
const DURATION = Number(values.duration);

const results = {};
for (const mode of ['cluster-rr', 'master']) results[mode] = await measure(mode);
console.log(JSON.stringify(results, null, 2));
process.exit(0);

async function measure(mode) {
  const port = await freePort();
  const config = validateHostConfig(
    {
      genDir: path.join(root, 'gen'),
      logLevel: 'warn',
      services: [
        {
          name: 'HelloWorld',
          listen: `127.0.0.1:${port}`,
          count: 2,
          transport: 'framed',
          handler: path.join(root, 'services/HelloWorld/handler.js'),
        },
      ],
    },
    path.join(root, 'rpc.config.json'),
  );
  const supervisor = new Supervisor({
    config,
    logger: createLogger({ level: 'warn' }),
    masterAccepts: mode === 'master',
  });
  await supervisor.start();
  try {
    const out = {};
    // spread
    console.error(mode, 'spread');
    const sockets = await Promise.all(Array.from({ length: 64 }, () => openAndCall(port)));
    const status = await supervisor.status();
    out.spread = status.workers.map((w) => w.connections);
    for (const s of sockets) s.destroy();
    await sleep(300);
    // steady
    console.error(mode, 'steady');
    out.steadyRps = Math.round((await loadgen(port, 64)).rps);
    // churn
    console.error(mode, 'churn');
    out.churnCallsPerSec = Math.round((await churn(port, 16, DURATION * 1000)).calls / DURATION);
    // reload
    console.error(mode, 'reload');
    const stop = { now: false };
    const loops = [
      ...Array.from({ length: 32 }, () => persistentLoop(port, stop)),
      ...Array.from({ length: 8 }, () => churnLoop(port, stop)),
    ];
    for (let i = 0; i < 3; i++) await supervisor.reload();
    stop.now = true;
    const done = await Promise.all(loops);
    const sum = (key) => done.reduce((n, r) => n + r[key], 0);
    out.reload = { calls: sum('calls'), failed: sum('failed'), hung: sum('hung') };
    return out;
  } finally {
    await supervisor.stop();
  }
}

// --- internal ---

function encodeCall(seqid) {
  const name = Buffer.from('sayHello');
  const arg = Buffer.from('bench');
  const body = Buffer.concat([
    Buffer.from([0x80, 0x01, 0x00, 0x01]),
    u32(name.length),
    name,
    u32(seqid),
    Buffer.from([0x0b, 0x00, 0x01]),
    u32(arg.length),
    arg,
    Buffer.from([0x00]),
  ]);
  return Buffer.concat([u32(body.length), body]);
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * One framed call on `socket`; resolves when a whole frame came back, rejects on close/error,
 * and with 'hung' after 5 s without either.
 */
function call(socket, seqid) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('hung'));
    }, 5_000);
    let buf = Buffer.alloc(0);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        cleanup();
        resolve();
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('closed'));
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
    socket.write(encodeCall(seqid));
  });
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function openAndCall(port) {
  const s = await connect(port);
  await call(s, 1);
  return s;
}

async function churn(port, parallel, ms) {
  const end = Date.now() + ms;
  let calls = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (Date.now() < end) {
        const s = await connect(port);
        await call(s, 1);
        s.destroy();
        calls++;
      }
    }),
  );
  return { calls };
}

async function persistentLoop(port, stop) {
  const r = { calls: 0, failed: 0, hung: 0 };
  let s;
  for (let seq = 1; !stop.now; seq++) {
    try {
      s ??= await connect(port);
      await call(s, seq);
      r.calls++;
    } catch (err) {
      r[err.message === 'hung' ? 'hung' : 'failed']++;
      s?.destroy();
      s = undefined;
    }
  }
  s?.destroy();
  return r;
}

async function churnLoop(port, stop) {
  const r = { calls: 0, failed: 0, hung: 0 };
  while (!stop.now) {
    try {
      const s = await connect(port);
      await call(s, 1).finally(() => s.destroy());
      r.calls++;
    } catch (err) {
      r[err.message === 'hung' ? 'hung' : 'failed']++;
    }
  }
  return r;
}

function loadgen(port, conns) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      path.join(root, 'bench/node-loadgen.mjs'),
      '--port',
      String(port),
      '--conns',
      String(conns),
      '--transport',
      'framed',
      '--warmup',
      '1',
      '--duration',
      String(DURATION),
    ]);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', () => {
      const last = out.trim().split('\n').at(-1);
      try {
        resolve(JSON.parse(last));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
