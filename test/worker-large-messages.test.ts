/**
 * Messages far larger than one socket read: the listener gathers their chunks and answers
 * them, pipelined with small calls, for binary and compact (the host's own writers) on both
 * transports. JSON is left to worker-protocols.test.ts: under vitest every call of the Apache
 * JSON client takes about a second whatever its size (plain node: 1 ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TRANSPORTS } from '../src/codec/protocols.js';
import { rawClient, startServer } from './helpers/in-process-server.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe.each((['binary', 'compact'] as const).flatMap((p) => TRANSPORTS.map((t) => [p, t] as const)))(
  '%s / %s',
  (protocol, transport) => {
    it('answers multi-megabyte calls pipelined with small ones, in order', async () => {
      const host = await startServer({ service: 'HelloWorld', protocol, transport });
      cleanups.push(host.close);
      const { client, close } = rawClient('HelloWorld', host.port, protocol, transport);
      cleanups.push(close);

      // Non-ASCII so that byte and character counts differ.
      const big = 'ü€x'.repeat(700_000);
      const replies: string[] = await Promise.all(
        [big, 'small', `${big}!`, ''].map((name) => client.sayHello(name)),
      );
      expect(replies.map((r) => r.length)).toEqual([6 + big.length, 11, 7 + big.length, 6]);
      expect(replies[0] === `Hello ${big}`).toBe(true);
      expect(replies[1]).toBe('Hello small');
      expect(replies[2] === `Hello ${big}!`).toBe(true);
      expect(replies[3]).toBe('Hello ');
    });

    it('keeps a big binary argument intact while later calls arrive on the connection', async () => {
      // A binary that fills most of its frame is handed to the handler as a view of the receive
      // buffer (no copy): the bytes that arrive after it must never be written over it.
      const host = await startServer({ service: 'Catalog', protocol, transport });
      cleanups.push(host.close);
      const { client, close } = rawClient('Catalog', host.port, protocol, transport);
      cleanups.push(close);
      const payloads = ['a', 'b', 'c', 'd'].map((c, i) => Buffer.alloc(300_000 + i * 7919, c));
      // The first handler reads its argument only after the later calls have been received.
      const replies: string[] = await Promise.all(
        payloads.map((p, i) => client.echo(p, i === 0 ? 200 : 0)),
      );
      replies.forEach((r, i) => expect(r === payloads[i]!.toString(), `reply ${i}`).toBe(true));
    });
  },
);
