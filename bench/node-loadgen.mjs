/**
 * Closed-loop load generator in Node, for machines without the C++ one (and to compare the
 * CPU each costs per request). Same command line and JSON lines as bench/loadgen/loadgen.cpp.
 *
 * It does not use the `thrift` client: the call to HelloWorld.sayHello is encoded once (binary
 * protocol) and each connection resends it as soon as the whole reply is back, so the
 * generator spends its CPU on sockets, not on encoding. Binary protocol only.
 *
 * Usage: node bench/node-loadgen.mjs --port P [--conns 8] [--transport framed|buffered]
 *                                    [--warmup 2] [--duration 8] [--name world]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    conns: { type: 'string', default: '8' },
    transport: { type: 'string', default: 'framed' },
    protocol: { type: 'string', default: 'binary' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '8' },
    name: { type: 'string', default: 'world' },
  },
});
if (values.protocol !== 'binary') {
  console.error('node-loadgen speaks the binary protocol only');
  process.exit(2);
}
const framed = values.transport === 'framed';
const request = encodeCall('sayHello', values.name, framed);
const replyText = `Hello ${values.name}`;
// REPLY header (version, name, seqid) + one string field + STOP, plus the frame header.
const replyLength = (framed ? 4 : 0) + 12 + 'sayHello'.length + 7 + Buffer.byteLength(replyText) + 1;

const WARMUP = 0;
const MEASURE = 1;
const DONE = 2;
let phase = WARMUP;
const latencies = [];
let errors = 0;
let badReplies = 0;
let open = 0;

for (let i = 0; i < Number(values.conns); i++) connect();

setTimeout(() => {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  phase = MEASURE;
  console.log('{"event":"measure-start"}');
  setTimeout(() => {
    phase = DONE;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log('{"event":"measure-end"}');
    latencies.sort((a, b) => a - b);
    const sum = latencies.reduce((a, b) => a + b, 0);
    const q = (p) => latencies[Math.min(latencies.length - 1, Math.round(p * (latencies.length - 1)))] ?? 0;
    console.log(
      JSON.stringify({
        requests: latencies.length,
        seconds,
        rps: latencies.length / seconds,
        meanUs: latencies.length ? sum / latencies.length : 0,
        p50Us: q(0.5),
        p99Us: q(0.99),
        p999Us: q(0.999),
        maxUs: latencies.at(-1) ?? 0,
        errors,
        badReplies,
        cpuPct: (cpu.user + cpu.system) / 1e4 / seconds,
      }),
    );
    if (open === 0) process.exit(0);
  }, Number(values.duration) * 1000);
}, Number(values.warmup) * 1000);

// --- internal ---

function connect() {
  const socket = net.connect({ host: values.host, port: Number(values.port), noDelay: true });
  let received = 0;
  let sentAt = 0;
  let checked = false;
  const send = () => {
    sentAt = performance.now();
    socket.write(request);
  };
  socket.on('connect', () => {
    open++;
    send();
  });
  socket.on('data', (chunk) => {
    if (!checked) {
      checked = true;
      if (!chunk.includes(replyText)) badReplies++;
    }
    received += chunk.length;
    while (received >= replyLength) {
      received -= replyLength;
      if (phase === MEASURE) latencies.push((performance.now() - sentAt) * 1000);
    }
    if (phase === DONE) socket.end();
    else if (received === 0) send();
  });
  socket.on('error', () => {
    if (phase === MEASURE) errors++;
  });
  socket.on('close', () => {
    open--;
    if (phase !== DONE) setTimeout(connect, 10);
    else if (open === 0) setTimeout(() => process.exit(0), 50);
  });
}

/** A binary-protocol CALL of `method(1: string arg)`, optionally framed. */
function encodeCall(method, arg, withFrame) {
  const argBytes = Buffer.from(arg);
  const body = Buffer.alloc(12 + method.length + 7 + argBytes.length + 1);
  let p = body.writeUInt32BE(0x80010001, 0); // VERSION_1 | CALL
  p = body.writeInt32BE(method.length, p);
  p += body.write(method, p, 'latin1');
  p = body.writeInt32BE(0, p); // seqid
  p = body.writeInt8(11, p); // STRING
  p = body.writeInt16BE(1, p);
  p = body.writeInt32BE(argBytes.length, p);
  p += argBytes.copy(body, p);
  body.writeInt8(0, p); // STOP
  if (!withFrame) return body;
  const frame = Buffer.alloc(4);
  frame.writeInt32BE(body.length, 0);
  return Buffer.concat([frame, body]);
}
