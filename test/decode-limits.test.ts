/**
 * The wire codec holds every message to its limits (maxMessageBytes, maxStringBytes,
 * maxContainerElements, maxDepth) on all six protocol × transport combinations, in the host and
 * in ThriftClient: at a limit a call is served, one over it is refused with a PROTOCOL_ERROR
 * naming the limit, and the listener keeps serving. Lying headers fail at once instead of
 * pinning or growing the worker. An unframed message is read in work linear in its bytes,
 * counted (bytes scanned and copied per byte received) rather than timed, however it is cut.
 */
import net from 'node:net';
import path from 'node:path';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { MessageSplitter, type SplitterWork } from '../src/codec/message-splitter.js';
import { PROTOCOLS, type ProtocolName, protocolClass, TRANSPORTS, type TransportName } from '../src/codec/protocols.js';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { ROOT, startServer } from './helpers/in-process-server.js';
import { encodeCall, indexCall } from './helpers/encoded-calls.js';
import { exchange } from './helpers/raw-exchange.js';

const AppErr = thrift.Thrift.TApplicationExceptionType;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A ThriftClient service client for Catalog at `port`, one connection, no retries. */
function catalogClient(port: number, protocol: ProtocolName, transport: TransportName, extra = {}) {
  const client = new ServiceClient(
    validateServiceOptions('Catalog', {
      addresses: [`127.0.0.1:${port}`],
      protocol,
      transport,
      serviceDir: path.join(ROOT, 'gen'),
      shareState: false,
      retries: 0,
      poolMax: 1,
      ...extra,
    }),
  );
  cleanups.push(() => client.destroy());
  return client;
}

const combos = PROTOCOLS.flatMap((protocol) => TRANSPORTS.map((transport) => ({ protocol, transport })));

describe.each(combos)('limits at their boundary: $protocol / $transport', ({ protocol, transport }) => {
  const start = (limits: Record<string, number>) =>
    startServer({ service: 'Catalog', protocol, transport, ...limits }).then((host) => {
      cleanups.push(host.close);
      return host;
    });

  it('maxStringBytes: a binary of exactly the limit is served, one byte more is refused', async () => {
    const host = await start({ maxStringBytes: 64 });
    const client = catalogClient(host.port, protocol, transport);
    expect(await client.call('echo', [Buffer.alloc(64, 0x41), 0])).toHaveLength(64);
    const err = await client.call('echo', [Buffer.alloc(65, 0x41), 0]).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: AppErr.PROTOCOL_ERROR });
    expect(String((err as Error).message)).toContain('exceeds maxStringBytes 64');
    expect(await catalogClient(host.port, protocol, transport).call('echo', [Buffer.from('abc'), 0])).toBe('abc');
  });

  it('maxContainerElements: a set of exactly the limit is served, one element more is refused', async () => {
    const host = await start({ maxContainerElements: 10 });
    const client = catalogClient(host.port, protocol, transport);
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    expect(Object.keys((await client.call('index', [tags(10)])) as object)).toHaveLength(10);
    const err = await client.call('index', [tags(11)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: AppErr.PROTOCOL_ERROR });
    expect(String((err as Error).message)).toContain('exceeds maxContainerElements 10');
  });

  it('maxDepth: args > Item > list nests 3 deep; served at maxDepth 3, refused at 2', async () => {
    const item = { id: 1, title: 'deep', tags: ['a'] };
    const ok = await start({ maxDepth: 3 });
    expect(await catalogClient(ok.port, protocol, transport).call('put', [item])).toBeDefined();
    const tight = await start({ maxDepth: 2 });
    const err = await catalogClient(tight.port, protocol, transport).call('put', [item]).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: AppErr.PROTOCOL_ERROR });
    expect(String((err as Error).message)).toContain('nesting deeper than maxDepth 2');
  });

  it('maxMessageBytes: a message of exactly the limit is served, with the limit one byte lower it is refused', async () => {
    const bytes = encodeCall(protocol, false, 'echo', (p) => {
      p.writeStructBegin('args');
      p.writeFieldBegin('data', thrift.Thrift.Type.STRING, 1);
      p.writeBinary(Buffer.alloc(300, 7));
      p.writeFieldEnd();
      p.writeFieldBegin('delayMs', thrift.Thrift.Type.I32, 2);
      p.writeI32(0);
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    const atLimit = await start({ maxMessageBytes: bytes.length });
    expect(await catalogClient(atLimit.port, protocol, transport).call('echo', [Buffer.alloc(300, 7), 0])).toHaveLength(
      300,
    );
    const below = await start({ maxMessageBytes: bytes.length - 1 });
    const err = await catalogClient(below.port, protocol, transport)
      .call('echo', [Buffer.alloc(300, 7), 0])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: AppErr.PROTOCOL_ERROR });
    expect(String((err as Error).message)).toContain(`exceeds maxMessageBytes ${bytes.length - 1}`);
  });
});

describe('lying headers fail at once', () => {
  // [version, name, CALL, seqid, {field 1: list of 10^12 i32}] — 51 bytes that promise terabytes.
  const jsonHugeList = (method: string) => `[1,"${method}",1,1,{"1":{"lst":["i32",1000000000000,1]}}]`;

  it.each(TRANSPORTS)('JSON list claiming 10^12 elements to an unknown method (%s)', async (transport) => {
    const host = await startServer({ service: 'Catalog', protocol: 'json', transport });
    cleanups.push(host.close);
    const body = Buffer.from(jsonHugeList('noSuchMethod'));
    const bytes = transport === 'framed' ? Buffer.concat([frameHeader(body.length), body]) : body;
    const { reply, closedBy } = await exchange(host.port, bytes);
    expect(closedBy).toBe('server');
    expect(reply.toString()).toContain('list size 1000000000000 out of range');
    expect(await catalogClient(host.port, 'json', transport).call('add', [1, 2])).toBeDefined();
  });

  it.each(TRANSPORTS)('JSON set of 2^31 strings to a real method (%s)', async (transport) => {
    const host = await startServer({ service: 'Catalog', protocol: 'json', transport });
    cleanups.push(host.close);
    const body = Buffer.from('[1,"index",1,1,{"1":{"set":["str",2147483648]}}]');
    const bytes = transport === 'framed' ? Buffer.concat([frameHeader(body.length), body]) : body;
    const { reply, closedBy } = await exchange(host.port, bytes);
    expect(closedBy).toBe('server');
    expect(reply.toString()).toMatch(/Bad request: .*(list size 2147483648 out of range|2147483648)/);
    const before = process.memoryUsage().rss;
    expect(await catalogClient(host.port, 'json', transport).call('index', [['a']])).toBeDefined();
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
  });

  it.each(combos)('a set claiming 2^31-1 elements in $protocol / $transport', async ({ protocol, transport }) => {
    const host = await startServer({ service: 'Catalog', protocol, transport });
    cleanups.push(host.close);
    const bytes = encodeCall(protocol, transport === 'framed', 'index', (p) => {
      p.writeStructBegin('args');
      p.writeFieldBegin('tags', thrift.Thrift.Type.SET, 1);
      p.writeSetBegin(thrift.Thrift.Type.STRING, 2 ** 31 - 1);
      p.writeString('only one');
      p.writeSetEnd();
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    const { reply, closedBy } = await exchange(host.port, bytes);
    expect(closedBy).toBe('server');
    expect(host.logs.join('\n')).toMatch(/2147483647 elements exceeds maxContainerElements/);
    if (transport === 'framed') expect(reply.length).toBeGreaterThan(0); // answered: the call was identified
  });
});

describe('unframed messages stay linear', () => {
  // Counted, not timed. A scanner that started over on each chunk, or a buffer that grew by the
  // chunk, would do about (bytes / chunk) / 2 times the bytes here: hundreds of times, not 2 or 4.
  const CHUNK = 16 * 1024;
  const chunkings: { name: string; sizes: () => () => number }[] = [
    { name: '16 KB', sizes: () => () => CHUNK },
    {
      name: 'random 1 B-32 KB',
      sizes: () => {
        let seed = 7;
        return () => 1 + ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % (2 * CHUNK));
      },
    },
  ];
  const big = new Map<ProtocolName, Buffer>();
  /** index() with 900,000 tags: 12.6 MB compact, 14.4 MB JSON, 15.3 MB binary. */
  const bigCall = (protocol: ProtocolName) => {
    if (!big.has(protocol)) big.set(protocol, indexCall(protocol, false, 900_000, 13));
    return big.get(protocol)!;
  };

  it.each(PROTOCOLS.flatMap((protocol) => chunkings.map((c) => ({ protocol, chunking: c.name, sizes: c.sizes }))))(
    'a 12 MB call of 900,000 strings between two small calls, in $chunking chunks: each byte scanned once, copies O(n) ($protocol)',
    ({ protocol, sizes }) => {
      const small = encodeCall(protocol, false, 'ping', (p) => {
        p.writeStructBegin('args');
        p.writeFieldStop();
        p.writeStructEnd();
      });
      const call = bigCall(protocol);
      expect(call.length).toBeGreaterThan(12_000_000);
      const bytes = Buffer.concat([small, call, small]);
      const splitter = new MessageSplitter(false, protocol, DEFAULT_DECODE_LIMITS);
      const { work } = splitter;
      const lengths: number[] = [];
      const next = sizes();
      for (let off = 0; off < bytes.length; ) {
        const end = Math.min(bytes.length, off + next());
        // A copy, as each socket read is a buffer of its own.
        splitter.push(Buffer.from(bytes.subarray(off, end)));
        off = end;
        while (splitter.next()) lengths.push(splitter.messageEnd - splitter.messageStart);
        // Quadratic work shows within a few chunks: stop there rather than do all of it.
        if (work.scanned > 2 * work.received || work.copied > 4 * work.received) break;
      }
      expect(work.scanned / work.received).toBeLessThanOrEqual(2);
      expect(work.copied / work.received).toBeLessThanOrEqual(4);
      expect(work.received).toBe(bytes.length);
      expect(lengths).toEqual([small.length, call.length, small.length]);
    },
  );

  it('a 3.5 MB buffered call of 400,000 strings sent in 16 KB chunks is answered while a ping on the same worker is answered', async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    // Many small elements: the shape that made the old decoder start over on every chunk (put
    // answers one i64, so the time goes to receiving the call, not to a big reply).
    const tags = Array.from({ length: 400_000 }, (_, i) => `tag${i}`);
    const bytes = encodeCall('binary', false, 'put', (p) => {
      p.writeStructBegin('args');
      p.writeFieldBegin('item', thrift.Thrift.Type.STRUCT, 1);
      p.writeStructBegin('Item');
      p.writeFieldBegin('id', thrift.Thrift.Type.I64, 1);
      p.writeI64(77);
      p.writeFieldEnd();
      p.writeFieldBegin('title', thrift.Thrift.Type.STRING, 2);
      p.writeString('many tags');
      p.writeFieldEnd();
      p.writeFieldBegin('tags', thrift.Thrift.Type.LIST, 5);
      p.writeListBegin(thrift.Thrift.Type.STRING, tags.length);
      for (const t of tags) p.writeString(t);
      p.writeListEnd();
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    expect(bytes.length).toBeGreaterThan(3_500_000);
    const pinger = catalogClient(host.port, 'binary', 'buffered');
    let pings = 0;
    let sending = true;
    const pingLoop = (async () => {
      while (sending) {
        // A ping cut off by the test's teardown ends the loop instead of rejecting unobserved.
        if ((await pinger.call('ping', []).then(() => true, () => false)) === false) break;
        pings++;
      }
    })();
    const socket = net.connect(host.port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    const before = { ...MessageSplitter.total };
    const replied = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    let pingsDuringSend = 0;
    for (let off = 0; off < bytes.length; off += 16 * 1024) {
      socket.write(bytes.subarray(off, off + 16 * 1024));
      // Let the server read each chunk on its own.
      await new Promise((r) => setImmediate(r));
      if (off === 64 * 16 * 1024) pingsDuringSend = pings;
      // Quadratic work shows within a few chunks: fail there rather than wait for all of it.
      const work = since(before);
      expect(work.scanned, `bytes scanned after ${work.received} received`).toBeLessThanOrEqual(2 * work.received);
      expect(work.copied, `bytes copied after ${work.received} received`).toBeLessThanOrEqual(4 * work.received);
    }
    const reply = await replied;
    sending = false;
    await pingLoop;
    expect(reply.length).toBeGreaterThan(0);
    expect(reply.toString('latin1')).toContain('put');
    expect(pingsDuringSend).toBeGreaterThan(0);
    // Every splitter of this process: the host's two connections and the pinger's.
    const work = since(before);
    expect(work.received).toBeGreaterThanOrEqual(bytes.length);
    expect(work.scanned / work.received).toBeLessThanOrEqual(2);
    expect(work.copied / work.received).toBeLessThanOrEqual(4);
  });

  it('maxMessageBytes holds for an unframed message that arrives whole', async () => {
    const host = await startServer({ service: 'Catalog', maxMessageBytes: 1024 });
    cleanups.push(host.close);
    const bytes = encodeCall('binary', false, 'echo', (p) => {
      p.writeStructBegin('args');
      p.writeFieldBegin('data', thrift.Thrift.Type.STRING, 1);
      p.writeBinary(Buffer.alloc(60 * 1024));
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    const { closedBy } = await exchange(host.port, bytes);
    expect(closedBy).toBe('server');
    expect(host.logs.join('\n')).toContain('exceeds maxMessageBytes 1024');
  });
});

describe('client reply limits', () => {
  it.each(combos)('refuses a reply over maxStringBytes / maxContainerElements ($protocol / $transport)', async ({
    protocol,
    transport,
  }) => {
    const h = await startServer({ service: 'Catalog', protocol, transport });
    cleanups.push(h.close);
    const strings = catalogClient(h.port, protocol, transport, { maxStringBytes: 10 });
    expect(await strings.call('echo', [Buffer.from('0123456789'), 0])).toBe('0123456789');
    const long = await strings.call('echo', [Buffer.from('0123456789a'), 0]).catch((e: unknown) => e);
    expect(long).toMatchObject({ code: 'ERR_REPLY_DECODE' });
    expect(String((long as Error).message)).toContain('exceeds maxStringBytes 10');
    const few = catalogClient(h.port, protocol, transport, { maxContainerElements: 2 });
    expect(Object.keys((await few.call('index', [['a', 'b']])) as object)).toEqual(['a', 'b']);
    const many = await few.call('index', [['a', 'b', 'c']]).catch((e: unknown) => e);
    expect(many).toMatchObject({ code: 'ERR_REPLY_DECODE' });
    expect(String((many as Error).message)).toContain('exceeds maxContainerElements 2');
  });

  it.each(TRANSPORTS)('refuses a reply over maxReplyBytes (%s)', async (transport) => {
    const h = await startServer({ service: 'Catalog', transport });
    cleanups.push(h.close);
    const client = catalogClient(h.port, 'binary', transport, { maxReplyBytes: 1024 });
    expect(await client.call('echo', [Buffer.alloc(900, 0x41), 0])).toHaveLength(900);
    const err = await client.call('echo', [Buffer.alloc(2000, 0x41), 0]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_REPLY_DECODE' });
    expect(String((err as Error).message)).toContain('exceeds maxMessageBytes 1024');
  });
});

describe('a reply that cannot be encoded', () => {
  const handler = path.join(ROOT, 'test/fixtures/handlers/wrong-shapes.cjs');
  const cases: [string, unknown[], RegExp][] = [
    ['get', [new thrift.Int64(1)], /field 'id' of Item is required but unset/],
    ['get', [new thrift.Int64(2)], /field 'id' of Item is required but unset/],
    ['put', [{ id: 1, title: 't' }], /i64 value 1152921504606847000 is not a safe integer/],
    ['find', ['q', 1], /field 'price': expected a double/],
    ['index', [['a']], /i64 value is the string ..not an i64/],
    ['add', [new thrift.Int64(1), new thrift.Int64(2)], /i64 value is the string ..ff\b/],
    ['echo', [Buffer.from('x'), 0], /expected a string or Buffer, got number 12345/],
  ];

  it.each(combos)('answers INTERNAL_ERROR naming the method, logs the field, and answers the call behind it ($protocol / $transport)', async ({
    protocol,
    transport,
  }) => {
    const host = await startServer({ service: 'Catalog', handler, protocol, transport });
    cleanups.push(host.close);
    const connection = thrift.createConnection('127.0.0.1', host.port, {
      protocol: protocolClass(protocol),
      transport: transport === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport,
      max_attempts: 1,
    });
    connection.on('error', () => {});
    cleanups.push(() => connection.destroy());
    const client = thrift.createClient<any>(require(path.join(ROOT, 'gen/Catalog/Catalog.js')), connection);
    for (const [method, args, logged] of cases) {
      // Pipelined: the bad call and a ping behind it leave in one write.
      const bad = client[method](...args).catch((e: unknown) => e);
      const ping = client.ping();
      const err = await bad;
      expect(err, method).toBeInstanceOf(thrift.Thrift.TApplicationException);
      expect(err.type, method).toBe(AppErr.INTERNAL_ERROR);
      expect(err.message, method).toBe(`Internal error in Catalog.${method}`);
      await expect(ping).resolves.toBeUndefined();
      expect(host.logs.join('\n'), method).toMatch(logged);
    }
  });
});

/** The work of every splitter in this process since `before`. */
function since(before: SplitterWork): SplitterWork {
  const now = MessageSplitter.total;
  return { received: now.received - before.received, scanned: now.scanned - before.scanned, copied: now.copied - before.copied };
}

function frameHeader(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
