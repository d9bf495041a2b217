/**
 * A THeader listener takes what Apache's THeader clients send besides plain THeader frames, each
 * checked against the library itself (Debian's python3-thrift and libthrift-dev), with the bytes
 * on the wire recorded: a THeader frame inside a second frame, the zlib transform both ways,
 * unframed binary and compact clients, and a transform the host does not implement.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServer } from './helpers/in-process-server.js';
import { buildCppPeer, generatePython, PYTHON, runPeer } from './helpers/theader-peers.js';
import { type WireTap, wireTap } from './helpers/wire-tap.js';

const PY_VARIANTS = path.join(ROOT, 'test/fixtures/py_theader_variants.py');
const CATALOG_HANDLER = path.join(ROOT, 'test/fixtures/handlers/context-catalog.cjs');
const HELLO_HANDLER = path.join(ROOT, 'test/fixtures/handlers/hello-headers.cjs');
/** Sets the reply header x-took-ns. */
const AUDIT = path.join(ROOT, 'test/fixtures/interceptors/audit.cjs');
/** What the Python fixture echoes (context-catalog's interceptor appends '!'). */
const PY_DATA = `${'z'.repeat(20000)}!`;
/** The first byte of a message in each protocol, and Python's unframed client type for it. */
const FIRST_BYTE = { binary: 0x80, compact: 0x82 } as const;
const PY_UNFRAMED_TYPE = { binary: 2, compact: 4 } as const;
/** The zlib transform's id. */
const ZLIB = 1;

let genPy: string;
let cppBin: string;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  genPy = generatePython('idl/Catalog.thrift');
  cppBin = buildCppPeer();
}, 180_000);
afterAll(() => fs.rmSync(genPy, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A THeader listener with the reply-header interceptor, behind a wire tap. */
async function tappedHost(service: 'Catalog' | 'HelloWorld'): Promise<WireTap> {
  const host = await startServer({
    service,
    handler: service === 'Catalog' ? CATALOG_HANDLER : HELLO_HANDLER,
    transport: 'header',
    interceptors: [AUDIT],
    callContext: true,
  });
  cleanups.push(host.close);
  const tap = await wireTap(host.port);
  cleanups.push(tap.close);
  return tap;
}

/**
 * The head of the THeader frame whose length field is at `at` in `bytes`, read here rather than
 * with the host's parser: its protocol and transform ids. Checks that the frame is whole.
 */
function theaderAt(bytes: Buffer, at: number): { protocol: string; transforms: number[] } {
  const end = at + 4 + bytes.readUInt32BE(at);
  expect(bytes.length).toBeGreaterThanOrEqual(end);
  expect(bytes.readUInt16BE(at + 4)).toBe(0x0fff);
  // magic, flags (2), seqid (4), header length in words (2); then varints, all < 128 here.
  let pos = at + 14;
  const protocolId = bytes[pos++]!;
  const transforms = Array.from({ length: bytes[pos++]! }, () => bytes[pos++]!);
  return { protocol: ({ 0: 'binary', 2: 'compact' } as Record<number, string>)[protocolId]!, transforms };
}

/** Checks that `bytes` starts with a THeader frame inside a second frame; returns the inner frame. */
function doubleFramed(bytes: Buffer) {
  expect(bytes.readUInt32BE(0)).toBe(bytes.readUInt32BE(4) + 4);
  return theaderAt(bytes, 4);
}

async function python(port: number, protocol: string, variant: string) {
  return JSON.parse(await runPeer(PYTHON, [PY_VARIANTS, genPy, String(port), protocol, variant]));
}

describe.each(['binary', 'compact'] as const)("Apache's Python THeaderTransport client over %s", (protocol) => {
  it('over TFramedTransport (THeader inside a second frame): answered in a second frame, headers both ways', async () => {
    const tap = await tappedHost('Catalog');
    const out = await python(tap.port, protocol, 'header-in-frame');
    expect(out.seen).toMatchObject({ data: PY_DATA });
    expect(out.seen.headers).toEqual({ 'request-id': 'py-variant' });
    // Python sends each call's headers once.
    expect(out.seen2).toMatchObject({ data: 'again!' });
    expect(out.seen2.headers).toEqual({ 'x-second': '2' });
    expect(Number(out.replyHeaders['x-took-ns'])).toBeGreaterThan(0);
    expect(out.add).toBe(2 ** 40 + 2);
    const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
    expect(doubleFramed(sent).protocol).toBe(protocol);
    expect(doubleFramed(received).protocol).toBe(protocol);
  });

  it.each(['zlib', 'zlib-in-frame'])('with the zlib transform (%s): inflated, answered without it', async (variant) => {
    const tap = await tappedHost('Catalog');
    const out = await python(tap.port, protocol, variant);
    expect(out.seen).toMatchObject({ data: PY_DATA });
    expect(out.seen.headers).toEqual({ 'request-id': 'py-variant' });
    expect(out.seen2.data).toBe('again!');
    expect(out.add).toBe(2 ** 40 + 2);
    const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
    const inFrame = variant === 'zlib-in-frame';
    const call = inFrame ? doubleFramed(sent) : theaderAt(sent, 0);
    const reply = inFrame ? doubleFramed(received) : theaderAt(received, 0);
    expect(call.transforms).toEqual([ZLIB]);
    expect(reply.transforms).toEqual([]);
    // 20 kB sent compressed.
    expect(sent.length).toBeLessThan(1000);
  });

  it(`as an unframed ${protocol} client (client type UNFRAMED): answered unframed`, async () => {
    const tap = await tappedHost('Catalog');
    const out = await python(tap.port, protocol, 'unframed');
    expect(out.seen).toMatchObject({ data: PY_DATA });
    expect(out.seen.headers).toEqual({});
    expect(out.seen2.data).toBe('again!');
    expect(out.add).toBe(2 ** 40 + 2);
    // THeaderTransport took the replies for unframed messages in the protocol it sent.
    expect(out.clientType).toBe(PY_UNFRAMED_TYPE[protocol]);
    const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
    expect(sent[0]).toBe(FIRST_BYTE[protocol]);
    expect(received[0]).toBe(FIRST_BYTE[protocol]);
  });

  it(`plain ${protocol} over TBufferedTransport (no THeader): answered unframed`, async () => {
    const tap = await tappedHost('Catalog');
    const out = await python(tap.port, protocol, 'buffered');
    expect(out.seen).toMatchObject({ data: PY_DATA });
    expect(out.seen.headers).toEqual({});
    expect(out.seen2.data).toBe('again!');
    expect(out.add).toBe(2 ** 40 + 2);
    const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
    expect(sent[0]).toBe(FIRST_BYTE[protocol]);
    expect(received[0]).toBe(FIRST_BYTE[protocol]);
  });
});

it('a Python THeader client naming a transform the host lacks gets INVALID_TRANSFORM naming it', async () => {
  const tap = await tappedHost('Catalog');
  const out = await python(tap.port, 'binary', 'transform:3');
  expect(out.error).toEqual({
    type: 8, // INVALID_TRANSFORM
    message: 'Bad request: THeader transform 3 (snappy) is not supported; send without it, or with zlib (1)',
  });
  const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
  expect(theaderAt(sent, 0).transforms).toEqual([3]);
  expect(theaderAt(received, 0).transforms).toEqual([]);
});

describe.each(['binary', 'compact'] as const)("Apache's C++ THeader client over %s", (protocol) => {
  it('over TFramedTransport (THeader inside a second frame): answered in a second frame, headers both ways', async () => {
    const tap = await tappedHost('HelloWorld');
    const stdout = await runPeer(cppBin, ['client', String(tap.port), protocol, 'framed']);
    expect(stdout).toMatch(/^Hello cpp \(request-id=cpp-9\) \| x-took-ns=\d+\n$/);
    const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
    expect(doubleFramed(sent).protocol).toBe(protocol);
    expect(doubleFramed(received).protocol).toBe(protocol);
  });

  it.each(['zlib', 'zlib framed'])('with the zlib transform (setTransform; %s): inflated, answered without it', async (args) => {
    const options = args.split(' ');
    const tap = await tappedHost('HelloWorld');
    // A name that compresses well: libthrift before 0.24 copies an inflated reply back into a
    // receive buffer sized for the compressed frame (Apache commit db4a473f3), so a zlib reply
    // of this would overrun its heap.
    const name = 'c'.repeat(200);
    const stdout = await runPeer(cppBin, ['client', String(tap.port), protocol, ...options, `name=${name}`]);
    expect(stdout).toMatch(new RegExp(`^Hello ${name} \\(request-id=cpp-9\\) \\| x-took-ns=\\d+\\n$`));
    const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
    const framed = options.includes('framed');
    expect((framed ? doubleFramed(sent) : theaderAt(sent, 0)).transforms).toEqual([ZLIB]);
    expect((framed ? doubleFramed(received) : theaderAt(received, 0)).transforms).toEqual([]);
    expect(sent.length).toBeLessThan(150);
  });

  it(`plain ${protocol} over TBufferedTransport (no THeader): answered unframed`, async () => {
    const tap = await tappedHost('HelloWorld');
    const stdout = await runPeer(cppBin, ['plain', String(tap.port), protocol]);
    expect(stdout).toBe('Hello cpp () | Hello again ()\n');
    const [{ sent, received }] = tap.connections as [WireTap['connections'][0]];
    expect(sent[0]).toBe(FIRST_BYTE[protocol]);
    expect(received[0]).toBe(FIRST_BYTE[protocol]);
  });
});
