/**
 * Bad input closes only the connection that sent it: garbage, truncated and oversized frames,
 * the wrong transport, an HTTP request, silence, deep nesting. The listener keeps serving
 * other connections, and a half-closed client still gets its answers.
 */
import net from 'node:net';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteBuffer } from '../src/codec/write-buffer.js';
import { rawClient, startServer } from './helpers/in-process-server.js';
import { exchange } from './helpers/raw-exchange.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});


/** Encodes one call message with the binary protocol. */
function encodeCall(
  name: string,
  seqid: number,
  framed: boolean,
  writeArgs: (p: thrift.TProtocol) => void,
): Buffer {
  let out: Buffer = Buffer.alloc(0);
  const w = new WriteBuffer(framed, (m) => {
    out = m;
  });
  const p = new thrift.TBinaryProtocol(w);
  p.writeMessageBegin(name, thrift.Thrift.MessageType.CALL, seqid);
  writeArgs(p);
  p.writeMessageEnd();
  p.flush();
  return out;
}

const sayHello = (framed: boolean, name = 'TOM') =>
  encodeCall('sayHello', 1, framed, (p) => {
    p.writeStructBegin('args');
    p.writeFieldBegin('name', thrift.Thrift.Type.STRING, 1);
    p.writeString(name);
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
  });

async function expectStillServing(port: number, transport: 'buffered' | 'framed'): Promise<void> {
  const { client, close } = rawClient('HelloWorld', port, 'binary', transport);
  try {
    expect(await client.sayHello('NEXT')).toBe('Hello NEXT');
  } finally {
    close();
  }
}

describe('bad input on a framed listener', () => {
  it('closes on an oversized frame before allocating it, and keeps serving', async () => {
    const host = await startServer({ service: 'HelloWorld', transport: 'framed', maxFrameBytes: 1024 });
    cleanups.push(host.close);
    const rssBefore = process.memoryUsage.rss();
    const header = Buffer.alloc(4);
    header.writeInt32BE(2_000_000_000);
    const { closedBy } = await exchange(host.port, header);
    expect(closedBy).toBe('server');
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(100 * 2 ** 20);
    expect(host.logs.join('\n')).toContain('exceeds maxMessageBytes 1024');
    await expectStillServing(host.port, 'framed');
  });

  it('closes a truncated frame when the peer hangs up', async () => {
    const host = await startServer({ service: 'HelloWorld', transport: 'framed' });
    cleanups.push(host.close);
    const full = sayHello(true);
    const { closedBy, reply } = await exchange(host.port, full.subarray(0, full.length - 3), { end: true });
    expect(closedBy).toBe('server');
    expect(reply.length).toBe(0);
    expect(host.logs.join('\n')).toContain('peer closed mid-message');
    await expectStillServing(host.port, 'framed');
  });

  it('names the mismatch when a buffered client talks to a framed listener', async () => {
    const host = await startServer({ service: 'HelloWorld', transport: 'framed' });
    cleanups.push(host.close);
    const { closedBy } = await exchange(host.port, sayHello(false));
    expect(closedBy).toBe('server');
    expect(host.logs.join('\n')).toContain('client seems to use buffered transport');
  });

  it('answers PROTOCOL_ERROR for a frame whose message is cut short, then closes', async () => {
    const host = await startServer({ service: 'HelloWorld', transport: 'framed' });
    cleanups.push(host.close);
    const full = sayHello(true);
    const cut = Buffer.from(full.subarray(0, full.length - 4));
    cut.writeInt32BE(cut.length - 4, 0);
    const { closedBy, reply } = await exchange(host.port, cut);
    expect(closedBy).toBe('server');
    expect(reply.length).toBeGreaterThan(4);
    expect(reply.toString('latin1')).toContain('bytes left in the message');
    await expectStillServing(host.port, 'framed');
  });

  it('survives nesting deeper than the protocol allows', async () => {
    const host = await startServer({ service: 'HelloWorld', transport: 'framed' });
    cleanups.push(host.close);
    const depth = 10_000;
    const deep = encodeCall('sayHello', 7, true, (p) => {
      for (let i = 0; i < depth; i++) {
        p.writeStructBegin('s');
        p.writeFieldBegin('f', thrift.Thrift.Type.STRUCT, 9);
      }
      for (let i = 0; i < depth; i++) {
        p.writeFieldStop();
        p.writeStructEnd();
      }
      p.writeFieldStop();
    });
    const { closedBy } = await exchange(host.port, deep);
    expect(closedBy).toBe('server');
    await expectStillServing(host.port, 'framed');
  });
});

describe('bad input on a buffered listener', () => {
  it('closes on random garbage and keeps serving', async () => {
    const host = await startServer({ service: 'HelloWorld', maxFrameBytes: 4096 });
    cleanups.push(host.close);
    const garbage = Buffer.from('ffeeddccbbaa99887766554433221100'.repeat(8), 'hex');
    const { closedBy } = await exchange(host.port, garbage);
    expect(closedBy).toBe('server');
    await expectStillServing(host.port, 'buffered');
  });

  it('names an HTTP request on a Thrift port', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    cleanups.push(host.close);
    const { closedBy } = await exchange(host.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(closedBy).toBe('server');
    expect(host.logs.join('\n')).toContain('an HTTP request on a Thrift port');
  });

  it('rejects a declared string length over maxFrameBytes without waiting for it', async () => {
    const host = await startServer({ service: 'HelloWorld', maxFrameBytes: 4096 });
    cleanups.push(host.close);
    const msg = sayHello(false, 'x'.repeat(10_000)).subarray(0, 200);
    const { closedBy } = await exchange(host.port, msg);
    expect(closedBy).toBe('server');
    expect(host.logs.join('\n')).toContain('exceeds maxMessageBytes 4096');
  });

  it('serves a message that arrives one byte at a time', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    cleanups.push(host.close);
    const msg = sayHello(false, 'DRIP');
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(host.port, '127.0.0.1', async () => {
        for (const byte of msg) {
          socket.write(Buffer.from([byte]));
          await new Promise((r) => setImmediate(r));
        }
      });
      socket.on('data', (d) => {
        resolve(d);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    expect(reply.toString('latin1')).toContain('Hello DRIP');
  });

  it('answers a client that half-closes right after sending', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    cleanups.push(host.close);
    const twoCalls = Buffer.concat([sayHello(false, 'A'), sayHello(false, 'B')]);
    const { closedBy, reply } = await exchange(host.port, twoCalls, { end: true });
    expect(closedBy).toBe('server');
    expect(reply.toString('latin1')).toContain('Hello A');
    expect(reply.toString('latin1')).toContain('Hello B');
  });

  it('closes a connection that sends nothing after idleTimeoutMs', async () => {
    const host = await startServer({ service: 'HelloWorld', idleTimeoutMs: 200 });
    cleanups.push(host.close);
    const started = Date.now();
    const { closedBy } = await exchange(host.port, Buffer.alloc(0), { timeoutMs: 5000 });
    expect(closedBy).toBe('server');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(host.logs.join('\n')).toContain('closing idle connection');
  });
});
