// Structure-aware fuzz inputs for the worker's receive path. Valid calls of every Catalog method
// are encoded by the real Apache `thrift` library while a recorder notes where each declared
// length, container header, field header and the message name were written; a mutation then
// rewrites one of those places with a lie (huge, negative, off by one, another type), nests
// structs or lists far too deep, renames the message, lies in the frame header, or truncates.
// JSON messages are mutated as the JSON tree they are. Deterministic for a given PRNG.
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './host.mjs';

const require = createRequire(import.meta.url);
const thrift = require('thrift');
const { loadGeneratedService } = require(path.join(ROOT, 'dist/src/codec/generated-service.js'));
const types = require(path.join(ROOT, 'gen/Catalog/Catalog_types.js'));
const catalog = loadGeneratedService(path.join(ROOT, 'gen'), 'Catalog');

/** Every mutation kind, the name a corpus file carries. */
export const KINDS = [
  'string-length',
  'container-count',
  'element-type',
  'field-type',
  'deep-nesting',
  'message-name',
  'message-type',
  'frame-size',
  'truncated',
  'method-confusion',
  'multi',
  'bitflip',
  'random',
];

/**
 * Valid calls of every Catalog method (but `echo`'s delay, which would be a slow handler rather
 * than a server fault), each with the places where its structure was written.
 * @returns {{ name: string, body: Buffer, sites: object[] }[]}
 */
export function validCalls(protocol) {
  const i64 = (n) => new thrift.Int64(n);
  const item = (n) =>
    new types.Item({
      id: i64(n),
      title: `item ${n} ${'t'.repeat(n % 7)}`,
      category: types.Category.MUSIC,
      price: 9.5 + n,
      tags: Array.from({ length: 3 + (n % 20) }, (_, i) => `tag${i}`),
      stock: Object.fromEntries(Array.from({ length: 2 + (n % 5) }, (_, i) => [`s${i}`, i * 3])),
      related: Array.from({ length: 2 + (n % 4) }, (_, i) => i64(i + n)),
      thumbnail: Buffer.alloc(16 + n, n & 0xff),
      active: n % 2 === 0,
    });
  const samples = {
    ping: [{}],
    get: [{ id: i64(7) }, { id: i64(123456789) }],
    put: [{ item: item(1) }, { item: item(25) }],
    find: [{ query: 'item', limit: 3 }],
    index: [{ tags: ['a', 'b', 'c', 'dd', 'eee'] }, { tags: Array.from({ length: 40 }, (_, i) => `k${i}`) }],
    touch: [{ id: i64(1) }],
    add: [{ a: i64(1), b: i64(2) }],
    echo: [{ data: Buffer.from('hello') }, { data: Buffer.alloc(300, 7) }],
    fail: [{ how: 'declared' }, { how: 'sync' }],
  };
  const out = [];
  for (const [name, method] of catalog.methods) {
    for (const args of samples[name] ?? [{}]) {
      const { body, sites } = record(protocol, (p) => {
        p.writeMessageBegin(name, method.oneway ? thrift.Thrift.MessageType.ONEWAY : thrift.Thrift.MessageType.CALL, 7);
        new method.Args(args).write(p);
        p.writeMessageEnd();
      });
      out.push({ name, body, sites });
    }
  }
  return out;
}

/**
 * One input: a mutated call (with its frame header when framed).
 * @returns {{ kind: string, bytes: Buffer }}
 */
export function mutate(calls, protocol, framed, rng) {
  const roll = rng.int(100);
  const kind =
    roll < 3 ? 'random' : roll < 8 ? 'bitflip' : roll < 14 ? 'multi' : KINDS[rng.int(KINDS.length - 3)];
  const call = rng.pick(calls);
  if (kind === 'frame-size') {
    if (framed) return { kind, bytes: frameLie(call.body, rng) };
    // Unframed: a valid call with a mutated one pipelined behind it.
    const k = rng.pick(['container-count', 'string-length', 'element-type', 'truncated']);
    const second = mutateBody(rng.pick(calls), protocol, k, rng, calls);
    return { kind: 'pipelined', bytes: Buffer.concat([call.body, second]) };
  }
  let body;
  if (kind === 'random') body = Buffer.from(Array.from({ length: 1 + rng.int(300) }, () => rng.int(256)));
  else if (kind === 'multi') {
    // One structural lie, then raw-byte damage (recorded sites no longer line up after a
    // splice); JSON is parsed again each time, so it takes several structural ones.
    const structural = KINDS.slice(0, -3).filter((k) => k !== 'frame-size');
    body = mutateBody(call, protocol, rng.pick(structural), rng, calls);
    for (let i = 0, n = 1 + rng.int(2); i < n; i++) {
      const k = protocol === 'json' ? rng.pick(structural) : rng.pick(['bitflip', 'truncated']);
      body = mutateBody({ ...call, body, sites: [] }, protocol, k, rng, calls);
    }
  } else body = mutateBody(call, protocol, kind, rng, calls);
  return { kind, bytes: frame(body, framed) };
}

// --- internal ---

const T = thrift.Thrift.Type;
const WIRE_TYPES = [T.BOOL, T.BYTE, T.I16, T.I32, T.I64, T.DOUBLE, T.STRING, T.STRUCT, T.MAP, T.SET, T.LIST];
const COMPACT_TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const JSON_TYPES = ['tf', 'i8', 'i16', 'i32', 'i64', 'dbl', 'str', 'rec', 'map', 'set', 'lst', 'xyz', ''];

/** Declared sizes worth lying with: huge, negative, overflowing, off by one of the truth. */
function lieAbout(truth, rng) {
  return rng.pick([
    0x7fffffff,
    0x7ffffff0,
    2 ** 31 - truth,
    -1,
    -(2 ** 31),
    -truth - 1,
    truth + 1,
    Math.max(0, truth - 1),
    truth * 2 + 1,
    0,
    1e6 + rng.int(1e6),
    2 ** 24,
    rng.int(2 ** 31),
  ]);
}

function frame(body, framed) {
  if (!framed) return body;
  const head = Buffer.alloc(4);
  head.writeInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

function frameLie(body, rng) {
  const head = Buffer.alloc(4);
  const size = rng.pick([body.length + 1, body.length - 1, 0, -1, 0x7fffffff, 1 << 20, (1 << 20) + 1, rng.int(body.length)]);
  head.writeInt32BE(size | 0, 0);
  // Sometimes a second frame follows, so that a reader that miscounts runs into it.
  return Buffer.concat([head, body, ...(rng.int(2) ? [frame(body, true)] : [])]);
}

/** Encodes with `write(protocol)` while recording where each structural element went. */
function record(protocol, write) {
  const chunks = [];
  const t = new thrift.TBufferedTransport(undefined, (b) => chunks.push(Buffer.from(b)));
  let written = 0;
  const rawWrite = t.write.bind(t);
  t.write = (buf, enc) => {
    written += typeof buf === 'string' ? Buffer.byteLength(buf, enc) : buf.length;
    return rawWrite(buf, enc);
  };
  const P = { binary: thrift.TBinaryProtocol, compact: thrift.TCompactProtocol, json: thrift.TJSONProtocol }[protocol];
  const p = new P(t);
  const sites = [];
  if (protocol !== 'json') {
    const wrap = (method, kind) => {
      const orig = p[method].bind(p);
      p[method] = (...args) => {
        const start = written;
        const r = orig(...args);
        if (written > start) sites.push({ kind, method, start, end: written, args });
        return r;
      };
    };
    wrap('writeString', 'string');
    wrap('writeBinary', 'string');
    wrap('writeListBegin', 'list');
    wrap('writeSetBegin', 'list');
    wrap('writeMapBegin', 'map');
    wrap('writeFieldBegin', 'field');
    wrap('writeStructBegin', 'struct');
  }
  write(p);
  t.flush();
  return { body: Buffer.concat(chunks), sites };
}

function mutateBody(call, protocol, kind, rng, calls) {
  if (protocol === 'json') return mutateJson(call, kind, rng, calls);
  const { body, sites } = call;
  const of = (k) => sites.filter((s) => s.kind === k);
  const compact = protocol === 'compact';
  switch (kind) {
    case 'string-length': {
      const s = rng.pick(of('string'));
      if (!s) break;
      const len = Buffer.byteLength(s.args[0] ?? '');
      const lie = lieAbout(len, rng);
      if (!compact) return patch(body, s.start, s.start + 4, int32(lie));
      const v = varintAt(body, s.start);
      return patch(body, s.start, v.end, varint(lie));
    }
    case 'container-count': {
      const s = rng.pick([...of('list'), ...of('map')]);
      if (!s) break;
      const truth = s.args.at(-1);
      const lie = lieAbout(truth, rng);
      if (!compact) {
        const at = s.start + (s.kind === 'map' ? 2 : 1);
        return patch(body, at, at + 4, int32(lie));
      }
      if (s.kind === 'list') {
        const type = body[s.start] & 0x0f;
        const end = (body[s.start] >> 4) === 15 ? varintAt(body, s.start + 1).end : s.start + 1;
        return patch(body, s.start, end, Buffer.concat([Buffer.from([0xf0 | type]), varint(lie)]));
      }
      if (truth === 0) return patch(body, s.start, s.end, Buffer.concat([varint(lie), Buffer.from([0x88])]));
      return patch(body, s.start, varintAt(body, s.start).end, varint(lie));
    }
    case 'element-type': {
      const s = rng.pick([...of('list'), ...of('map')]);
      if (!s) break;
      if (!compact) {
        const at = s.start + (s.kind === 'map' && rng.int(2) ? 1 : 0);
        return patch(body, at, at + 1, Buffer.from([rng.int(4) ? rng.pick(WIRE_TYPES) : rng.int(256)]));
      }
      const t = rng.int(4) ? rng.pick(COMPACT_TYPES) : rng.int(16);
      if (s.kind === 'list') return patch(body, s.start, s.start + 1, Buffer.from([(body[s.start] & 0xf0) | t]));
      if (s.args.at(-1) === 0) return patch(body, s.start, s.end, Buffer.concat([varint(1 + rng.int(3)), Buffer.from([(t << 4) | t])]));
      const at = varintAt(body, s.start).end;
      return patch(body, at, at + 1, Buffer.from([rng.int(2) ? (t << 4) | (body[at] & 0x0f) : (body[at] & 0xf0) | t]));
    }
    case 'field-type': {
      const s = rng.pick(of('field'));
      if (!s) break;
      if (!compact) return patch(body, s.start, s.start + 1, Buffer.from([rng.int(4) ? rng.pick(WIRE_TYPES) : rng.int(256)]));
      const t = rng.int(4) ? rng.pick(COMPACT_TYPES) : rng.int(16);
      return patch(body, s.start, s.start + 1, Buffer.from([(body[s.start] & 0xf0) | t]));
    }
    case 'deep-nesting': {
      // At a field boundary: an unknown field (id 99) holding structs or lists nested far too deep.
      const s = rng.pick(of('field'));
      const at = s ? s.start : Math.max(0, body.length - 2);
      return patch(body, at, at, deepBinary(compact, rng));
    }
    case 'message-name':
    case 'method-confusion': {
      const name =
        kind === 'method-confusion'
          ? rng.pick(calls).name
          : rng.pick(['', 'zzzz', 'x'.repeat(1 + rng.int(5000)), 'ping\u0000', '\u00ff\u00fe', 'getX', 'GET']);
      const s = of('string')[0]; // the message name: the first string written
      if (!s) break;
      const enc = compact ? varint(Buffer.byteLength(name, 'latin1')) : int32(Buffer.byteLength(name, 'latin1'));
      return patch(body, s.start, s.end, Buffer.concat([enc, Buffer.from(name, 'latin1')]));
    }
    case 'message-type': {
      const b = Buffer.from(body);
      if (compact) b[1] = (b[1] & 0x1f) | (rng.pick([0, 2, 3, 5, 7]) << 5);
      else b[3] = rng.pick([0, 2, 3, 5, 9, 255]);
      if (rng.int(3) === 0) b[compact ? 1 : 2] ^= 1 << rng.int(8); // the version too
      return b;
    }
    case 'truncated': {
      const cuts = sites.map((s) => (rng.int(2) ? s.start : s.end));
      return body.subarray(0, rng.int(3) && cuts.length ? rng.pick(cuts) + rng.int(3) : rng.int(body.length));
    }
    case 'bitflip': {
      const b = Buffer.from(body);
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) b[rng.int(b.length)] ^= 1 << rng.int(8);
      return b;
    }
    default:
      break;
  }
  // A mutation with no site to work on (a call without strings or containers): truncate instead.
  return body.subarray(0, rng.int(body.length));
}

/** An unknown field 99 holding `depth` nested structs or lists. */
function deepBinary(compact, rng) {
  const depth = rng.pick([65, 100, 1000, 10_000, 50_000 + rng.int(50_000)]);
  const lists = rng.int(2) === 1;
  if (!compact) {
    const field = Buffer.from([lists ? T.LIST : T.STRUCT, 0, 99]);
    const step = lists ? Buffer.from([T.LIST, 0, 0, 0, 1]) : Buffer.from([T.STRUCT, 0, 1]);
    // Lists end in an empty list of i32; structs in a STOP per level.
    const end = lists ? Buffer.from([T.I32, 0, 0, 0, 0]) : Buffer.alloc(depth + 1);
    return Buffer.concat([field, ...(lists ? [Buffer.from([T.LIST, 0, 0, 0, 1])] : []), Buffer.alloc(step.length * depth, step), end]);
  }
  // Compact: field header (type 12 struct / 9 list, long-form id 99), then the chain.
  const head = Buffer.from([lists ? 9 : 12, ...zigzagVarint(99)]);
  const step = lists ? Buffer.from([0x19]) : Buffer.from([0x1c]); // list of 1 list / field 1 struct
  const end = lists ? Buffer.from([0x05]) : Buffer.concat([Buffer.from([0x15, 0x02]), Buffer.alloc(depth + 1)]);
  return Buffer.concat([head, Buffer.alloc(depth, step), end]);
}

function mutateJson(call, kind, rng, calls) {
  const text = call.body.toString('utf8');
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return call.body;
  }
  const nodes = [];
  const walk = (v, parent, key) => {
    if (Array.isArray(v)) {
      nodes.push({ v, parent, key });
      v.forEach((c, i) => walk(c, v, i));
    } else if (v && typeof v === 'object') {
      nodes.push({ v, parent, key });
      for (const k of Object.keys(v)) walk(v[k], v, k);
    }
  };
  walk(msg[4], msg, 4);
  const containers = nodes.filter((n) => Array.isArray(n.v) && ['lst', 'set', 'map'].includes(n.key));
  const fields = nodes.filter((n) => !Array.isArray(n.v) && /^-?\d+$/.test(String(n.key)));
  const strings = nodes.filter((n) => !Array.isArray(n.v) && 'str' in n.v);
  const PLACEHOLDER = '"\u0001DEEP\u0001"';
  let deep;
  switch (kind) {
    case 'string-length': {
      const n = rng.pick(strings);
      if (n) n.v.str = rng.pick(['', '====', '\\u0000', '@@@', 'a'.repeat(1 + rng.int(100_000)), 12, null, []]);
      break;
    }
    case 'container-count': {
      const n = rng.pick(containers);
      if (n) {
        const at = n.key === 'map' ? 2 : 1;
        n.v[at] = rng.pick([1e12, 2 ** 31, 2 ** 32 - 1, 2 ** 53, -1, -(2 ** 31), n.v[at] + 1, n.v[at] - 1, 1.5, '3', null, 1e308]);
      }
      break;
    }
    case 'element-type': {
      const n = rng.pick(containers);
      if (n) n.v[n.key === 'map' ? rng.int(2) : 0] = rng.pick(JSON_TYPES);
      break;
    }
    case 'field-type': {
      const n = rng.pick(fields);
      if (n) {
        const [type] = Object.keys(n.v);
        const value = n.v[type];
        delete n.v[type];
        n.v[rng.pick(JSON_TYPES)] = rng.int(3) ? value : rng.pick([0, 'x', [], {}, null]);
        if (rng.int(4) === 0) {
          // or the field id
          n.parent[rng.pick(['-1', '99999', '0', 'abc', '1e3'])] = n.v;
          delete n.parent[n.key];
        }
      }
      break;
    }
    case 'deep-nesting': {
      const depth = rng.pick([65, 100, 1000, 10_000, 50_000]);
      deep = rng.int(2)
        ? `{"99":${'{"rec":{"1":'.repeat(depth)}{"i32":1}${'}}'.repeat(depth)}}`
        : `{"99":{"lst":["lst",1,${'["lst",1,'.repeat(depth)}["i32",0]${']'.repeat(depth)}]}}`;
      const target = rng.pick(fields.filter((f) => f.parent === msg[4]));
      if (target) target.parent[target.key] = '\u0001DEEP\u0001';
      else msg[4] = '\u0001DEEP\u0001';
      break;
    }
    case 'message-name':
      msg[1] = rng.pick(['', 'zzzz', 'x'.repeat(1 + rng.int(5000)), 'ping\u0000', 12, null, ['get']]);
      break;
    case 'method-confusion':
      msg[1] = rng.pick(calls).name;
      break;
    case 'message-type':
      msg[rng.int(4) ? 2 : 0] = rng.pick([0, 2, 3, 5, 9, -1, '1', 2 ** 40]);
      break;
    case 'truncated':
      return call.body.subarray(0, rng.int(call.body.length));
    case 'bitflip': {
      const b = Buffer.from(call.body);
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) b[rng.int(b.length)] ^= 1 << rng.int(7);
      return b;
    }
    default:
      break;
  }
  let out = JSON.stringify(msg);
  if (deep) out = out.replace(PLACEHOLDER, deep);
  return Buffer.from(out, 'utf8');
}

function patch(body, start, end, replacement) {
  return Buffer.concat([body.subarray(0, start), replacement, body.subarray(end)]);
}

function int32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0, 0);
  return b;
}

/** Unsigned LEB128 of `n` taken as a 32-bit (or, past 2^32, a 64-bit) value. */
function varint(n) {
  let v = n < 0 ? BigInt.asUintN(32, BigInt(n)) : BigInt(Math.trunc(n));
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

function zigzagVarint(n) {
  return varint((n << 1) ^ (n >> 31));
}

function varintAt(buf, start) {
  let i = start;
  while (i < buf.length && buf[i] & 0x80) i++;
  return { end: Math.min(buf.length, i + 1) };
}
