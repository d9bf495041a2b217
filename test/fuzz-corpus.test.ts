/**
 * Replays the fuzz regression corpus (test/fixtures/fuzz-corpus, written by
 * `node chaos/fuzz.mjs`): every input must get its connection closed promptly, never hang
 * or crash the listener, and a valid client must be served afterwards.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { PROTOCOLS, TRANSPORTS } from '../src/codec/protocols.js';
import { ROOT, rawClient, startServer } from './helpers/in-process-server.js';

const dir = path.join(ROOT, 'test/fixtures/fuzz-corpus');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.bin'));

function sendAndWaitClose(port: number, bytes: Buffer, timeoutMs = 3000): Promise<'closed' | 'hung'> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      resolve('hung');
    }, timeoutMs);
    s.on('error', () => {});
    s.resume(); // read (and drop) replies, or the server's FIN is never seen
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.end(bytes);
  });
}

describe('fuzz regression corpus', () => {
  it('has inputs for every protocol x transport combination', () => {
    for (const p of PROTOCOLS)
      for (const t of TRANSPORTS) expect(files.some((f) => f.startsWith(`${p}-${t}-`))).toBe(true);
  });

  describe.each(PROTOCOLS.flatMap((p) => TRANSPORTS.map((t) => [p, t] as const)))(
    '%s / %s',
    (protocol, transport) => {
      it('closes every corpus input and keeps serving', async () => {
        const host = await startServer({ service: 'Catalog', protocol, transport, maxFrameBytes: 1 << 20 });
        const { client, close } = rawClient('Catalog', host.port, protocol, transport);
        try {
          const mine = files.filter((f) => f.startsWith(`${protocol}-${transport}-`));
          const outcomes = await Promise.all(
            mine.map(
              async (f) =>
                [f, await sendAndWaitClose(host.port, fs.readFileSync(path.join(dir, f)))] as const,
            ),
          );
          expect(outcomes.filter(([, o]) => o === 'hung').map(([f]) => f)).toEqual([]);
          const sum = await client.add(new thrift.Int64(20), new thrift.Int64(22));
          expect(thrift.toBigInt(sum)).toBe(42n);
        } finally {
          close();
          host.close();
        }
      });
    },
  );
});
